/**
 * @module Turns a resolved launch request into a running instance. Every instance begins as a
 * "stem cell": a sandboxed guest runtime that has booted its interpreter but loaded no function.
 * Specialising one links the function's code into the cell's (already mounted) code dir and sends
 * the function's environment; the guest then loads the handler. A few cells per runtime are kept
 * pre-started, so that a cold start only pays for loading the code (the technique of OpenWhisk's
 * and Fission's pools).
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  instanceConcurrencyOf,
  Limits,
  StratoError,
  type FunctionEgress,
  type RuntimeFamily,
} from '../core/index.js'
import {
  familySpecOf,
  GUEST_INTERPRETERS,
  RUNTIME_FAMILY_SPECS,
  type GuestInterpreter,
  type RuntimeFamilySpec,
} from './families/index.js'
import { Instance } from './instance.js'
import { CELL_DEPTH_DECAY_MS, StemCellPool, type CellKey } from './stem-cell-pool.js'
import type { Sandbox, SandboxInterpreter } from './sandbox.js'

/** Everything the runtime needs to start an instance; it knows nothing of the database. */
export interface LaunchRequest {
  readonly family: RuntimeFamily
  /** The verified, read-only code tree. */
  readonly codeDir: string
  /** Verified trees of attached dependency packages, searched after the code for modules. */
  readonly dependencyDirs: readonly string[]
  readonly memorySizeMb: number
  readonly cpuMillicores: number
  readonly timeoutS: number
  readonly handler: string
  readonly initializerHandler: string
  readonly initializerTimeoutS: number
  /**
   * Invocations one instance serves at once (`concurrent_num`); a family's own cap (core's
   * `maxConcurrencyPerInstance`: one for Python) wins.
   */
  readonly concurrency: number
  /** RUNTIME_* identity variables and the user's variables. */
  readonly env: Readonly<Record<string, string>>
  /** What the instance reaches beyond its loopback (ADR 0023): no default, none opens by omission. */
  readonly egress: FunctionEgress
}

export interface LauncherOptions {
  readonly sandbox: Sandbox
  /** `<dataDir>/instances`: one opaque-id dir per live instance. */
  readonly instancesDir: string
  /** The command of each guest interpreter by name (`node`, `python`); else its default. */
  readonly interpreterCommands: Readonly<Record<string, string>>
  readonly startTimeoutMs: number
  /**
   * The most pre-started cells kept per runtime (and memory size, for Node.js); 0 turns the pool
   * off. Each runtime's depth is learned below that: `InstanceLauncher.decayCellDepths`.
   */
  readonly stemCells: number
  /**
   * How often the depth of runtimes whose cells sat unused is halved (120 s when not given; 0 leaves
   * it to `decayCellDepths` calls, as tests do).
   */
  readonly stemCellDecayMs?: number
  /** Background cell boots at most at once while the pool refills (1 when not given). */
  readonly stemCellBoots?: number
  /**
   * The nice value a spare cell (booted while its key still has one ready) runs at until
   * specialised, so that it yields the CPU to cold starts in progress; 0 (or not given) turns it
   * off. Only a root Strato can give a cell its priority back, so elsewhere it is off too.
   */
  readonly stemCellBootNiceness?: number
  /** A background cell start failed (the next launch starts its own cell). */
  readonly onBackgroundError?: (err: unknown) => void
}

/** The guests' folders (`runtimes/<family>`, `runtimes/common`). */
const GUEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtimes')
const MIB = 1024 * 1024
/** Memory a cell not kept per memory size gets until it is specialised. */
const UNKEYED_CELL_MEMORY_MB = 128
/** How long an interpreter that could not run is not probed again. */
const FAILED_PROBE_TTL_MS = 60_000

/**
 * Where the guest finds modules of dependency packages: the family's variable (`NODE_PATH`,
 * `PYTHONPATH`) listing the folders it names in each tree (`node_modules/`, `python/`, the root).
 */
function modulePathsOf(spec: RuntimeFamilySpec, dirs: readonly string[]): Record<string, string> {
  const modulePath = spec.dependencyPath
  if (dirs.length === 0 || modulePath === undefined) {
    return {}
  }
  return {
    [modulePath.variable]: dirs
      .flatMap((d) => modulePath.subdirs.map((sub) => path.join(d, sub)))
      .join(':'),
  }
}

/** Resolves a command to the real interpreter (a pyenv shim costs ~50 ms per start). */
function resolveInterpreter(command: string, interpreter: GuestInterpreter): string {
  const probe = spawnSync(command, interpreter.realPathProbe, { encoding: 'utf8', timeout: 10_000 })
  const resolved = probe.stdout?.trim()
  if (probe.status !== 0 || resolved === undefined || resolved === '') {
    throw new StratoError(
      'INSTANCE_START_FAILED',
      `The ${interpreter.name} interpreter '${command}' cannot be run (${probe.error?.message ?? `exit ${probe.status}`}).`,
    )
  }
  return resolved
}

/**
 * Makes `dst` (a dir the sandbox already shows as the code root) hold the tree `src`: hard links,
 * so that specialising costs one link per file and no copying; a copy only where the two are on
 * different filesystems. Store trees are read-only and owned by Strato, so a link gives the
 * function nothing it could change. Symbolic links (container images have them) are made anew,
 * never followed. What `dst` already holds stays: an image's root has the sandbox's mount points
 * (/proc, /tmp, /.strato) before its files arrive, and those cover the image's own.
 */
async function linkTree(src: string, dst: string): Promise<void> {
  const entries = await fsp.readdir(src, { withFileTypes: true })
  await Promise.all(
    entries.map(async (entry) => {
      const from = path.join(src, entry.name)
      const to = path.join(dst, entry.name)
      if (entry.isDirectory()) {
        const made = await fsp.mkdir(to, { mode: 0o755 }).then(
          () => true,
          (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') {
              throw err
            }
            return false
          },
        )
        // Only into a real folder: never through a link, which could lead out of the cell.
        if (made || (await fsp.lstat(to)).isDirectory()) {
          await linkTree(from, to)
        }
      } else if (entry.isSymbolicLink()) {
        await fsp.symlink(await fsp.readlink(from), to).catch(ignoreExisting)
      } else if (entry.isFile()) {
        try {
          await fsp.link(from, to)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            return
          }
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') {
            throw err
          }
          await fsp.copyFile(from, to)
          await fsp.chmod(to, (await fsp.stat(from)).mode & 0o555)
        }
      }
    }),
  )
}

function ignoreExisting(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') {
    throw err
  }
}

export class InstanceLauncher {
  readonly #options: LauncherOptions
  /** Resolved interpreters by name. */
  readonly #interpreters = new Map<string, string>()
  /** Each interpreter that cannot run: when it was last probed, and why it failed. */
  readonly #failedProbes = new Map<string, { at: number; error: unknown }>()
  readonly #bootNiceness: number
  readonly #pool: StemCellPool

  constructor(options: LauncherOptions) {
    this.#options = options
    this.#bootNiceness = process.geteuid?.() === 0 ? (options.stemCellBootNiceness ?? 0) : 0
    this.#pool = new StemCellPool({
      maxDepth: options.stemCells,
      maxBoots: options.stemCellBoots ?? 1,
      decayMs: options.stemCellDecayMs ?? CELL_DEPTH_DECAY_MS,
      boot: (key, spare) => this.#startCell(key, spare),
      ...(options.onBackgroundError === undefined
        ? {}
        : { onBootError: options.onBackgroundError }),
    })
  }

  get sandbox(): Sandbox {
    return this.#options.sandbox
  }

  /**
   * The interpreter, resolved once, or throws where it cannot run. A failed probe is remembered
   * (and its error thrown again) for `FAILED_PROBE_TTL_MS`: every cell boot asks for every
   * interpreter (an HTTP function's bootstrap may start any), and a probe is a `spawnSync` that
   * holds the event loop, ~100 ms and more for a JVM that cannot find its class. Found: a missing
   * Java guest jar held Strato's event loop on every boot. An interpreter installed later is seen
   * after the TTL.
   */
  #checkedInterpreter(interpreter: GuestInterpreter): string {
    const known = this.#interpreters.get(interpreter.name)
    if (known !== undefined) {
      return known
    }
    const failed = this.#failedProbes.get(interpreter.name)
    if (failed !== undefined && Date.now() - failed.at < FAILED_PROBE_TTL_MS) {
      throw failed.error
    }
    const command =
      this.#options.interpreterCommands[interpreter.name] ?? interpreter.defaultCommand
    try {
      const resolved = resolveInterpreter(command, interpreter)
      this.#interpreters.set(interpreter.name, resolved)
      this.#failedProbes.delete(interpreter.name)
      return resolved
    } catch (err) {
      this.#failedProbes.set(interpreter.name, { at: Date.now(), error: err })
      throw err
    }
  }

  /** The interpreter, or undefined where it cannot run (`#checkedInterpreter`). */
  #probe(interpreter: GuestInterpreter): string | undefined {
    try {
      return this.#checkedInterpreter(interpreter)
    } catch {
      return undefined
    }
  }

  /**
   * Every guest interpreter by name, resolved, or undefined where it cannot run (Strato runs
   * without it; its families' instances fail to start).
   */
  interpreters(): Record<string, string | undefined> {
    return Object.fromEntries(GUEST_INTERPRETERS.map((i) => [i.name, this.#probe(i)]))
  }

  /**
   * A family whose interpreter flags depend on the memory size (Node's heap limit) keeps cells
   * per memory size; the others' cells fit any size.
   */
  #keyOf(family: RuntimeFamily, memorySizeMb: number): CellKey {
    return familySpecOf(family).cellsPerMemorySize
      ? { family, memorySizeMb }
      : { family, memorySizeMb: UNKEYED_CELL_MEMORY_MB }
  }

  /** Boots one unspecialised cell. */
  async #startCell(key: CellKey, spare = false): Promise<Instance> {
    const spec = familySpecOf(key.family)
    // Before anything is made: a runtime that cannot run here fails without leaving a dir behind.
    const familyInterpreter = this.#checkedInterpreter(spec.interpreter)
    const instanceId = randomUUID()
    const instanceDir = path.join(this.#options.instancesDir, instanceId)
    await fsp.mkdir(instanceDir, { mode: 0o700 })
    // Every interpreter this machine has: an HTTP function's bootstrap may start any of them.
    const interpreters: SandboxInterpreter[] = []
    for (const interpreter of GUEST_INTERPRETERS) {
      const host = this.#probe(interpreter)
      if (host !== undefined) {
        interpreters.push({
          host,
          sandboxPaths: interpreter.sandboxPaths,
          configDirs: interpreter.hostConfigDirs?.(host) ?? [],
        })
      }
    }
    const plan = this.#options.sandbox.prepare({
      instanceId,
      instanceDir,
      interpreter: familyInterpreter,
      interpreters,
      interpreterArgs: spec.interpreterArgs(key.memorySizeMb),
      guest: { dir: GUEST_DIR, folders: spec.guest.folders, script: spec.guest.script },
      addressSpaceHeadroomBytes: spec.addressSpaceHeadroomBytes,
      ...(spec.rootFileSystem === undefined ? {} : { rootFileSystem: spec.rootFileSystem }),
      memoryBytes: key.memorySizeMb * MIB,
      cpuMillicores: Math.round((key.memorySizeMb / 128) * 100 + 200),
      // A fresh environment: nothing of Strato's own (secrets, NODE_OPTIONS, proxies) leaks in.
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        LANG: 'C.UTF-8',
        HOME: '/tmp',
        TMPDIR: '/tmp',
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        STRATO_MAX_LOG_BYTES: String(Limits.LOG_MAX_BYTES_PER_INVOCATION),
        RUNTIME_MAX_RESP_BODY_SIZE: String(Limits.SYNC_PAYLOAD_MAX_BYTES),
      },
    })
    return Instance.startCell({
      instanceId,
      plan,
      instanceDir,
      startTimeoutMs: this.#options.startTimeoutMs,
      ...(spare && this.#bootNiceness > 0 ? { bootNiceness: this.#bootNiceness } : {}),
    })
  }

  /** Starts keeping a cell for this runtime before the first launch asks for one. */
  prewarm(family: RuntimeFamily, memorySizeMb: number): void {
    this.#pool.prewarm(this.#keyOf(family, memorySizeMb))
  }

  /** One step of the pool's depth decay (`StemCellPool.decay`; a timer runs it). */
  decayCellDepths(): void {
    this.#pool.decay()
  }

  /**
   * Starts keeping cells, at `memorySizeMb` where cells are kept per memory size, of every family
   * whose interpreter runs here and that boots at start: `prewarmAtStart: 'always'`, or one of
   * `familiesInUse` (families of existing functions).
   */
  prewarmAvailable(
    memorySizeMb: number,
    familiesInUse: ReadonlySet<RuntimeFamily> = new Set(),
  ): void {
    for (const interpreter of GUEST_INTERPRETERS) {
      if (this.#probe(interpreter) === undefined) {
        continue
      }
      for (const family of RUNTIME_FAMILY_SPECS) {
        if (
          family.interpreter === interpreter &&
          this.#canRun(family) &&
          (family.prewarmAtStart === 'always' || familiesInUse.has(family.name))
        ) {
          this.prewarm(family.name, memorySizeMb)
        }
      }
    }
  }

  /** Pre-started cells waiting, for the info endpoint and tests. */
  stemCellCount(): number {
    return this.#pool.count()
  }

  /** Each runtime key's learned depth (`node:128` → 4), for the info endpoint and tests. */
  stemCellDepths(): Record<string, number> {
    return this.#pool.depths()
  }

  /** Container images become a sandbox's root only at the bubblewrap level. */
  #canRun(spec: RuntimeFamilySpec): boolean {
    return spec.rootFileSystem !== 'image' || this.#options.sandbox.level === 'bubblewrap'
  }

  async launch(request: LaunchRequest): Promise<Instance> {
    const spec = familySpecOf(request.family)
    if (!this.#canRun(spec)) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `Custom Image functions need the bubblewrap sandbox (the image becomes the instance's root file system, in its own network namespace); this Strato runs at the '${this.#options.sandbox.level}' level.`,
      )
    }
    const network = this.#options.sandbox.network
    if (spec.transport === 'http' && network === undefined) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `HTTP functions need the bubblewrap sandbox (a network namespace per instance, so that each can listen on 127.0.0.1:8000, and FunctionGraph's runtime paths); this Strato runs at the '${this.#options.sandbox.level}' level.`,
      )
    }
    const key = this.#keyOf(request.family, request.memorySizeMb)
    const cell = this.#pool.take(key) ?? (await this.#startCell(key))
    this.#pool.launched()
    // The policy goes in while the code is linked; the function runs only once both are done.
    const egressAttached = cell.attachEgress(request.egress)
    egressAttached.catch(() => undefined)
    try {
      const paths = cell.paths
      await linkTree(request.codeDir, path.join(cell.hostDir, 'code'))
      const dependencyDirs: string[] = []
      for (const [i, dir] of request.dependencyDirs.entries()) {
        await fsp.mkdir(path.join(cell.hostDir, 'deps', String(i)), { mode: 0o755 })
        await linkTree(dir, path.join(cell.hostDir, 'deps', String(i)))
        dependencyDirs.push(path.join(paths.dependencyRoot, String(i)))
      }
      cell.resize(request.memorySizeMb, request.cpuMillicores)
      await egressAttached
      // The function's variables first, so that none of them can move its tmp dir or lift a limit.
      const env: Record<string, string> = {
        ...request.env,
        PATH: '/usr/local/bin:/usr/bin:/bin',
        LANG: 'C.UTF-8',
        HOME: paths.tmpDir,
        TMPDIR: paths.tmpDir,
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        ...modulePathsOf(spec, dependencyDirs),
        RUNTIME_CODE_ROOT: paths.codeRoot,
        RUNTIME_HANDLER: request.handler,
        RUNTIME_INITIALIZER_HANDLER: request.initializerHandler,
        RUNTIME_INITIALIZER_TIMEOUT: String(request.initializerTimeoutS),
        RUNTIME_TIMEOUT: String(request.timeoutS),
        RUNTIME_MEMORY: String(request.memorySizeMb),
        RUNTIME_CPU: String(request.cpuMillicores),
        RUNTIME_MAX_RESP_BODY_SIZE: String(Limits.SYNC_PAYLOAD_MAX_BYTES),
        STRATO_INSTANCE_ID: cell.id,
      }
      await cell.specialise({
        env,
        memorySizeMb: request.memorySizeMb,
        concurrency: instanceConcurrencyOf(request.family, request.concurrency),
        ...(spec.transport === 'http' && network !== undefined ? { network } : {}),
        initializerTimeoutMs:
          request.initializerHandler === '' ? 0 : request.initializerTimeoutS * 1000,
      })
      return cell
    } catch (err) {
      void cell.stop()
      throw err
    }
  }

  /** Stops the pre-started cells; instances in use are the pool's to stop. */
  async close(): Promise<void> {
    await this.#pool.close()
  }
}
