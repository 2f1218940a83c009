/**
 * @module The Sandbox seam: how an instance's process is confined. Levels, strongest first:
 * * `bubblewrap` - every namespace (mount, pid, net, ipc, uts, cgroup), a minimal read-only root
 *   with the code at /opt/function/code, private /tmp and /dev/shm, a seccomp deny-list, a
 *   per-instance cgroup and an unprivileged per-instance uid;
 * * `unshare` - pid, net, ipc, uts and mount namespaces, the cgroup and the uid, but the host's
 *   filesystem (read through permissions only);
 * * `rlimits` - a plain child process with rlimits and a parent-death signal, running as Strato's
 *   own user: said loudly at start;
 * * `none` - not even that (util-linux missing).
 * See ADR 0005 for why bubblewrap is launched by root and drops to the uid inside.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { bubblewrapWorks, BubblewrapSandbox } from './bubblewrap-sandbox.js'
import { CgroupManager, type InstanceCgroup } from './cgroups.js'
import { NoSandbox, RlimitSandbox, UnshareSandbox } from './host-sandboxes.js'
import type { EgressSettings } from '../config/index.js'
import type { CellEgress } from './egress-network.js'
import type { InstanceNetwork } from './netns-dialer.js'
import type { UidRange } from './uid-range-registry.js'

export { OPEN_FILES, PROCESSES, SANDBOX_CODE_ROOT } from './confinement.js'

/** From strongest to weakest; the level reached is reported at start and on /strato/info. */
export type IsolationLevel = 'bubblewrap' | 'unshare' | 'rlimits' | 'none'

/** An interpreter a sandbox offers, whichever family it runs (a `bootstrap` may start any). */
export interface SandboxInterpreter {
  /** Its resolved host path. */
  readonly host: string
  /** FunctionGraph's documented paths of it, linked to it inside a bubblewrap sandbox. */
  readonly sandboxPaths: readonly string[]
  /** Host dirs outside /usr it needs at start (a JDK's /etc/java-<N>-openjdk), shown read-only. */
  readonly configDirs?: readonly string[]
}

/** One instance's sandbox as requested by the launcher. */
export interface CellRequest {
  readonly instanceId: string
  /** Host dir of the instance: `code/`, `deps/`, `tmp/`, `etc/` and the pid file live here. */
  readonly instanceDir: string
  /** Host path of the interpreter that runs the guest (resolved, no shims). */
  readonly interpreter: string
  /** Every interpreter this machine has, offered inside the sandbox at FunctionGraph's paths. */
  readonly interpreters: readonly SandboxInterpreter[]
  /** Interpreter flags placed before the guest script. */
  readonly interpreterArgs: readonly string[]
  /**
   * The guest: `dir` is the host path of Strato's guest runtimes (`runtimes/`); only `folders` of
   * it are shown inside the sandbox; `script` is the program, relative to `dir`.
   */
  readonly guest: {
    readonly dir: string
    readonly folders: readonly string[]
    readonly script: string
  }
  /** Address space allowed beyond `memoryBytes` where no cgroup caps memory (the family's). */
  readonly addressSpaceHeadroomBytes: number
  readonly memoryBytes: number
  readonly cpuMillicores: number
  /** The platform's own variables (never the function's: those come at specialisation). */
  readonly env: Readonly<Record<string, string>>
  /**
   * `image`: the code (a container image's tree, linked in at specialisation) is the root file
   * system; only the bubblewrap level builds such a sandbox.
   */
  readonly rootFileSystem?: 'image'
}

/** Where the guest finds things, as paths of its own filesystem view. */
export interface GuestPaths {
  readonly codeRoot: string
  readonly dependencyRoot: string
  readonly tmpDir: string
}

/** How to spawn one sandboxed instance, and what to undo when it is gone. */
export interface CellPlan {
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  /** Files passed to the process as fds 4, 5, … (fd 3 is the control socket). */
  readonly extraFiles: readonly string[]
  readonly paths: GuestPaths
  readonly cgroup: InstanceCgroup | undefined
  /** Host uid the function runs as, or undefined when it runs as Strato's own user. */
  readonly uid: number | undefined
  /** The instance's egress (ADR 0023): wired while it boots, attached at specialisation. */
  readonly egress?: CellEgress
  /**
   * Removes the cgroups and returns the uid; call once every process is gone. `keepUid`: the uid
   * stays taken until the server stops (its address may still hold a policy, ADR 0023).
   */
  release(keepUid?: boolean): Promise<void>
}

export interface Sandbox {
  readonly level: IsolationLevel
  /** One line for the logs: what this level enforces and what it does not. */
  readonly description: string
  /**
   * How Strato reaches HTTP functions' servers, or undefined where they cannot run: each instance
   * needs its own network namespace with loopback up (every server listens on 127.0.0.1:8000)
   * and FunctionGraph's interpreter paths.
   */
  readonly network: InstanceNetwork | undefined
  /** Whether instances reach beyond their loopback (ADR 0023), and if not, why. */
  readonly egress: { readonly enabled: boolean; readonly reason: string | undefined }
  /** The host uids this server's instances run as (reserved host-wide), or undefined: no own uids. */
  readonly uids: UidRange | undefined
  prepare(request: CellRequest): CellPlan
  /** Removes cgroups a crashed run left behind; returns the ids of the instances they belonged to. */
  reapLeftovers(): Promise<string[]>
  /** Removes what the sandbox keeps for this data dir (its cgroup scope) once instances are gone. */
  close(): Promise<void>
}

export interface SandboxOptions {
  /** `auto` picks the strongest level that works here. */
  readonly isolation: IsolationLevel | 'auto'
  /** Names this data dir's cgroups (`strato/<scope>/<instance>`). */
  readonly scope: string
  /** Where the sandbox keeps its generated files (seccomp filter, /etc). */
  readonly stateDir: string
  /**
   * Instances' host uids, reserved in a host-wide registry where the level uses uids, so two
   * servers never share one: the first free `count` from `base`, or exactly those when `fixed`.
   */
  readonly uids: {
    readonly base: number
    readonly count: number
    readonly fixed: boolean
    readonly registryFile: string
    /** Names this server to another one refused a fixed range (the data dir). */
    readonly holder: string
  }
  /** Runs the trusted helper that dials into instances' network namespaces (HTTP functions). */
  readonly pythonCommand: string
  /** Instances' egress; undefined: none (only their loopback). */
  readonly egress?: EgressSettings
}

/** Names one data dir's cgroups (`strato/<scope>/<instance>`): opaque, stable across restarts. */
export function sandboxScope(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)
}

function findTool(tool: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const candidate = `${dir}/${tool}`
    if (fs.existsSync(candidate)) {
      return candidate
    }
  }
  return undefined
}

/**
 * Picks the strongest level this machine supports (or the one asked for). Returns the sandbox and
 * why stronger levels were not reached.
 */
export function detectSandbox(options: SandboxOptions): { sandbox: Sandbox; notes: string[] } {
  const notes: string[] = []
  const setpriv = findTool('setpriv')
  const prlimit = findTool('prlimit')
  const want = options.isolation
  if (setpriv === undefined || prlimit === undefined) {
    return { sandbox: new NoSandbox(), notes: ['setpriv or prlimit (util-linux) not found'] }
  }
  if (want === 'rlimits' || want === 'none') {
    return {
      sandbox: want === 'none' ? new NoSandbox() : new RlimitSandbox(setpriv, prlimit),
      notes,
    }
  }
  const isRoot = process.getuid?.() === 0
  let cgroups: CgroupManager | undefined
  if (!isRoot) {
    notes.push('Strato does not run as root: no cgroups, no per-instance uid')
  } else {
    const probed = CgroupManager.probe(options.scope)
    if (typeof probed === 'string') {
      notes.push(probed)
    } else {
      cgroups = probed
    }
  }
  if (cgroups !== undefined && (want === 'auto' || want === 'bubblewrap')) {
    const bwrap = findTool('bwrap')
    const problem =
      bwrap === undefined
        ? 'bubblewrap (bwrap) is not installed: run scripts/setup.sh'
        : bubblewrapWorks(bwrap)
    if (bwrap !== undefined && problem === undefined) {
      return {
        sandbox: new BubblewrapSandbox({ bwrap, setpriv, prlimit }, cgroups, options),
        notes,
      }
    }
    notes.push(problem ?? 'bubblewrap unusable')
  }
  const unshare = findTool('unshare')
  if (cgroups !== undefined && unshare !== undefined && want !== 'bubblewrap') {
    return {
      sandbox: new UnshareSandbox(
        { unshare, setpriv, prlimit, ip: findTool('ip') },
        cgroups,
        options,
      ),
      notes,
    }
  }
  if (want === 'bubblewrap' || want === 'unshare') {
    notes.push(`isolation '${want}' was asked for but is not available`)
  }
  return { sandbox: new RlimitSandbox(setpriv, prlimit), notes }
}
