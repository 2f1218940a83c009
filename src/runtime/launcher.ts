/**
 * @module Turns a resolved launch request into a running instance: picks the guest runtime of the
 * family, builds the instance's fresh environment and limits, and wraps it in the sandbox.
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Limits, StratoError, type RuntimeFamily } from '../core/index.js'
import { Instance } from './instance.js'
import type { Sandbox } from './sandbox.js'

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
  /** RUNTIME_* identity variables and the user's variables. */
  readonly env: Readonly<Record<string, string>>
}

export interface LauncherOptions {
  readonly sandbox: Sandbox
  /** `<dataDir>/instances`: one opaque-id dir per live instance. */
  readonly instancesDir: string
  readonly nodeCommand: string
  readonly pythonCommand: string
  readonly startTimeoutMs: number
}

const GUEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtimes')
const GUESTS: Readonly<Record<RuntimeFamily, string>> = {
  node: path.join(GUEST_DIR, 'node', 'bootstrap.cjs'),
  python: path.join(GUEST_DIR, 'python', 'bootstrap.py'),
}
const MIB = 1024 * 1024
/**
 * Address space allowed beyond memory_size. V8 reserves virtual ranges (code space, cage) far
 * beyond what it touches, so Node needs ~1 GiB of headroom to start at all; real memory is capped by
 * V8's heap limit now and by a cgroup once the sandbox has one.
 */
const ADDRESS_SPACE_HEADROOM: Readonly<Record<RuntimeFamily, number>> = {
  node: 1024 * MIB,
  python: 256 * MIB,
}
const OPEN_FILES = 2048
const PROCESSES = 1024

/**
 * Where the runtime finds modules of dependency packages: a package may hold `node_modules/` (or
 * `nodejs/node_modules/`) for Node.js, `python/` for Python, or the modules at its root.
 */
function modulePathsOf(family: RuntimeFamily, dirs: readonly string[]): Record<string, string> {
  if (dirs.length === 0) {
    return {}
  }
  return family === 'node'
    ? {
        NODE_PATH: dirs
          .flatMap((d) => [path.join(d, 'node_modules'), path.join(d, 'nodejs', 'node_modules'), d])
          .join(':'),
      }
    : { PYTHONPATH: dirs.flatMap((d) => [path.join(d, 'python'), d]).join(':') }
}

/** Resolves a command to the real interpreter (a pyenv shim costs ~50 ms per start). */
function resolveInterpreter(command: string, family: RuntimeFamily): string {
  const probe =
    family === 'python'
      ? spawnSync(command, ['-c', 'import sys; print(sys.executable)'], {
          encoding: 'utf8',
          timeout: 10_000,
        })
      : spawnSync(command, ['-p', 'process.execPath'], { encoding: 'utf8', timeout: 10_000 })
  const resolved = probe.stdout?.trim()
  if (probe.status !== 0 || resolved === undefined || resolved === '') {
    throw new StratoError(
      'INSTANCE_START_FAILED',
      `The ${family} interpreter '${command}' cannot be run (${probe.error?.message ?? `exit ${probe.status}`}).`,
    )
  }
  return resolved
}

export class InstanceLauncher {
  readonly #options: LauncherOptions
  readonly #interpreters = new Map<RuntimeFamily, string>()

  constructor(options: LauncherOptions) {
    this.#options = options
  }

  get sandbox(): Sandbox {
    return this.#options.sandbox
  }

  #interpreter(family: RuntimeFamily): string {
    let resolved = this.#interpreters.get(family)
    if (resolved === undefined) {
      const command = family === 'node' ? this.#options.nodeCommand : this.#options.pythonCommand
      resolved = resolveInterpreter(command, family)
      this.#interpreters.set(family, resolved)
    }
    return resolved
  }

  /** The interpreter of each family, or undefined where there is none (Strato runs without it). */
  interpreters(): Record<RuntimeFamily, string | undefined> {
    const probe = (family: RuntimeFamily): string | undefined => {
      try {
        return this.#interpreter(family)
      } catch {
        return undefined
      }
    }
    return { node: probe('node'), python: probe('python') }
  }

  async launch(request: LaunchRequest): Promise<Instance> {
    const instanceId = randomUUID()
    const instanceDir = path.join(this.#options.instancesDir, instanceId)
    const tmp = path.join(instanceDir, 'tmp')
    const interpreter = this.#interpreter(request.family)
    const argv =
      request.family === 'node'
        ? [
            interpreter,
            // V8's heap gets most of memory_size; the rest is for buffers and the runtime itself.
            `--max-old-space-size=${Math.max(32, Math.floor(request.memorySizeMb * 0.8))}`,
            GUESTS.node,
          ]
        : [interpreter, '-B', GUESTS.python]
    const command = this.#options.sandbox.wrap(argv, {
      addressSpaceBytes: request.memorySizeMb * MIB + ADDRESS_SPACE_HEADROOM[request.family],
      openFiles: OPEN_FILES,
      processes: PROCESSES,
    })
    // A fresh environment: nothing of Strato's own (secrets, NODE_OPTIONS, proxies) leaks in. The
    // function's variables come first so that none of them can move its tmp dir or lift a limit.
    const env: Record<string, string> = {
      ...request.env,
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      HOME: tmp,
      TMPDIR: tmp,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      STRATO_MAX_LOG_BYTES: String(Limits.LOG_MAX_BYTES_PER_INVOCATION),
      ...modulePathsOf(request.family, request.dependencyDirs),
      RUNTIME_CODE_ROOT: request.codeDir,
      RUNTIME_HANDLER: request.handler,
      RUNTIME_INITIALIZER_HANDLER: request.initializerHandler,
      RUNTIME_INITIALIZER_TIMEOUT: String(request.initializerTimeoutS),
      RUNTIME_TIMEOUT: String(request.timeoutS),
      RUNTIME_MEMORY: String(request.memorySizeMb),
      RUNTIME_CPU: String(request.cpuMillicores),
      RUNTIME_MAX_RESP_BODY_SIZE: String(Limits.SYNC_PAYLOAD_MAX_BYTES),
      STRATO_INSTANCE_ID: instanceId,
    }
    return Instance.start({
      instanceId,
      command,
      cwd: request.codeDir,
      env,
      instanceDir,
      startTimeoutMs: this.#options.startTimeoutMs,
      initializerTimeoutMs:
        request.initializerHandler === '' ? 0 : request.initializerTimeoutS * 1000,
      memorySizeMb: request.memorySizeMb,
    })
  }
}
