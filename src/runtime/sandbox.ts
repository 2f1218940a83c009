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
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { CgroupManager, type InstanceCgroup } from './cgroups.js'
import { NetnsDialer, type InstanceNetwork } from './netns-dialer.js'
import { buildSeccompFilter } from './seccomp-filter.js'
import { UidPool } from './uid-pool.js'
import { reserveUidRange, type UidRange, type UidRangeReservation } from './uid-range-registry.js'

/** From strongest to weakest; the level reached is reported at start and on /strato/info. */
export type IsolationLevel = 'bubblewrap' | 'unshare' | 'rlimits' | 'none'

const MIB = 1024 * 1024
/** FunctionGraph gives every instance 512 MB of ephemeral /tmp; tmpfs pages count as memory. */
const TMP_BYTES = 512 * MIB
const SHM_BYTES = 64 * MIB
export const OPEN_FILES = 2048
export const PROCESSES = 1024
/** Where code, dependencies and Strato's guest runtimes appear inside a bubblewrap sandbox. */
export const SANDBOX_CODE_ROOT = '/opt/function/code'
const SANDBOX_DEPENDENCY_ROOT = '/opt/function/dependencies'
const SANDBOX_GUEST_DIR = '/opt/function/runtime/strato'

/** An interpreter a sandbox offers, whichever family it runs (a `bootstrap` may start any). */
export interface SandboxInterpreter {
  /** Its resolved host path. */
  readonly host: string
  /** FunctionGraph's documented paths of it, linked to it inside a bubblewrap sandbox. */
  readonly sandboxPaths: readonly string[]
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
  /** Removes the cgroups and returns the uid; call once every process is gone. */
  release(): Promise<void>
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

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file)
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
}

/** The dirs between `root` (excluded) and `file` (excluded), outermost first. */
function ancestorsBelow(root: string, file: string): string[] {
  const out: string[] = []
  for (let d = path.dirname(file); d !== root && d !== '/'; d = path.dirname(d)) {
    out.unshift(d)
  }
  return out
}

/**
 * The plan of the weak levels: the guest sees the host's filesystem, its code and dependencies in
 * the instance dir, a private `tmp` there, and runs as Strato's own user.
 */
function hostPlan(request: CellRequest, command: string, args: readonly string[]): CellPlan {
  for (const sub of ['code', 'deps', 'tmp']) {
    fs.mkdirSync(path.join(request.instanceDir, sub), { mode: sub === 'tmp' ? 0o700 : 0o755 })
  }
  const tmp = path.join(request.instanceDir, 'tmp')
  return {
    command,
    args,
    cwd: path.join(request.instanceDir, 'code'),
    env: { ...request.env, HOME: tmp, TMPDIR: tmp },
    extraFiles: [],
    paths: {
      codeRoot: path.join(request.instanceDir, 'code'),
      dependencyRoot: path.join(request.instanceDir, 'deps'),
      tmpDir: tmp,
    },
    cgroup: undefined,
    uid: undefined,
    release: () => Promise.resolve(),
  }
}

/**
 * Builds a plan inside a fresh cgroup and uid, and gives both back if building fails; the plan's
 * `release` removes the cgroup (killing what is left in it) and returns the uid.
 */
function confine(
  cgroups: CgroupManager,
  uids: UidPool,
  request: CellRequest,
  build: (cgroup: InstanceCgroup, uid: number) => Omit<CellPlan, 'cgroup' | 'uid' | 'release'>,
): CellPlan {
  const uid = uids.acquire()
  let cgroup: InstanceCgroup | undefined
  try {
    cgroup = cgroups.create(request.instanceId, {
      memoryBytes: request.memoryBytes,
      pids: PROCESSES,
      cpuMillicores: request.cpuMillicores,
    })
    const owned = cgroup
    return {
      ...build(owned, uid),
      cgroup: owned,
      uid,
      release: async () => {
        await owned.destroy()
        // Only now: a group that could not be emptied may still hold processes of this uid, and
        // the uid then stays taken rather than go to another instance.
        uids.release(uid)
      },
    }
  } catch (err) {
    void cgroup?.destroy().catch(() => undefined)
    uids.release(uid)
    throw err
  }
}

/** The launch wrapper: joins the cgroups, then becomes the next command (no shell stays around). */
function joinCgroupsThen(cgroup: InstanceCgroup, argv: readonly string[]): string[] {
  const joins = cgroup
    .procsFiles()
    .map((f) => `echo $$ > ${f}`)
    .join(' && ')
  return ['/bin/sh', '-c', `${joins} && exec "$@"`, 'strato-cell', ...argv]
}

function dropPrivileges(setpriv: string, uid: number, argv: readonly string[]): string[] {
  return [
    setpriv,
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
    ...argv,
  ]
}

/**
 * `nproc` only where no pids cgroup counts processes: it is per uid and counts threads, so beside
 * a cgroup it would only fire first and hide which limit was reached.
 */
function rlimits(
  prlimit: string,
  argv: readonly string[],
  extra: { addressSpace?: number; processes?: number } = {},
): string[] {
  return [
    prlimit,
    `--nofile=${OPEN_FILES}`,
    '--core=0',
    ...(extra.processes === undefined ? [] : [`--nproc=${extra.processes}`]),
    ...(extra.addressSpace === undefined ? [] : [`--as=${extra.addressSpace}`]),
    '--',
    ...argv,
  ]
}

class BubblewrapSandbox implements Sandbox {
  readonly network: NetnsDialer
  readonly level = 'bubblewrap' as const
  readonly description =
    'bubblewrap: mount, pid, net, ipc, uts and cgroup namespaces; read-only minimal root; private /tmp and /dev/shm; seccomp deny-list; per-instance cgroup (memory, pids, cpu) and unprivileged uid'
  readonly #bwrap: string
  readonly #setpriv: string
  readonly #prlimit: string
  readonly #cgroups: CgroupManager
  readonly #uids: UidPool
  readonly #uidReservation: UidRangeReservation
  readonly #seccompFile: string
  readonly #stateDir: string

  constructor(
    tools: { bwrap: string; setpriv: string; prlimit: string },
    cgroups: CgroupManager,
    options: SandboxOptions,
  ) {
    this.#bwrap = tools.bwrap
    this.#setpriv = tools.setpriv
    this.#prlimit = tools.prlimit
    this.#cgroups = cgroups
    this.#stateDir = options.stateDir
    this.network = new NetnsDialer(options.pythonCommand)
    this.#seccompFile = path.join(options.stateDir, 'seccomp.bpf')
    fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o755 })
    fs.rmSync(this.#seccompFile, { force: true })
    fs.writeFileSync(this.#seccompFile, buildSeccompFilter(), { mode: 0o444 })
    const etc = path.join(options.stateDir, 'etc')
    fs.mkdirSync(etc, { recursive: true })
    fs.writeFileSync(path.join(etc, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n')
    fs.writeFileSync(path.join(etc, 'resolv.conf'), '')
    fs.writeFileSync(path.join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\n')
    // Last: nothing after it can fail and leave the range reserved.
    this.#uidReservation = reserveUidRange(options.uids)
    this.#uids = new UidPool(this.#uidReservation.range.first, this.#uidReservation.range.count)
  }

  get uids(): UidRange {
    return this.#uidReservation.range
  }

  reapLeftovers(): Promise<string[]> {
    return this.#cgroups.reapAll()
  }

  async close(): Promise<void> {
    try {
      await this.network.stop()
      await this.#cgroups.close()
    } finally {
      this.#uidReservation.release()
    }
  }

  /** Binds for the interpreter: nothing under /usr; else its install prefix at the same path. */
  #interpreterBinds(interpreter: string): string[] {
    if (inside('/usr', interpreter)) {
      return []
    }
    const prefix = path.dirname(path.dirname(interpreter))
    const args: string[] = []
    const parts = prefix.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) {
      args.push('--perms', '0755', '--dir', `/${parts.slice(0, i).join('/')}`)
    }
    args.push('--ro-bind', prefix, prefix)
    return args
  }

  prepare(request: CellRequest): CellPlan {
    return confine(this.#cgroups, this.#uids, request, (cgroup, uid) => {
      for (const sub of ['code', 'deps']) {
        fs.mkdirSync(path.join(request.instanceDir, sub), { mode: 0o755 })
      }
      // getpwuid must find the function's uid: os.userInfo() and Python's pwd module ask.
      const passwd = path.join(request.instanceDir, 'passwd')
      fs.writeFileSync(
        passwd,
        `root:x:0:0:root:/root:/usr/sbin/nologin\nsbx_user:x:${uid}:${uid}:function:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
        { mode: 0o444 },
      )
      const group = path.join(request.instanceDir, 'group')
      fs.writeFileSync(group, `root:x:0:\nsbx_user:x:${uid}:\nnogroup:x:65534:\n`, { mode: 0o444 })
      const etc = path.join(this.#stateDir, 'etc')
      const dirs = (...ds: string[]): string[] => ds.flatMap((d) => ['--perms', '0755', '--dir', d])
      const bwrapArgs = [
        this.#bwrap,
        '--unshare-pid',
        '--unshare-net',
        '--unshare-ipc',
        '--unshare-uts',
        '--unshare-cgroup-try',
        '--die-with-parent',
        '--new-session',
        '--clearenv',
        '--hostname',
        'fgs',
        '--ro-bind',
        '/usr',
        '/usr',
        '--symlink',
        'usr/bin',
        '/bin',
        '--symlink',
        'usr/sbin',
        '/sbin',
        '--symlink',
        'usr/lib',
        '/lib',
        '--symlink',
        'usr/lib64',
        '/lib64',
        ...dirs('/etc', '/etc/ssl', '/run'),
        '--ro-bind',
        passwd,
        '/etc/passwd',
        '--ro-bind',
        group,
        '/etc/group',
        '--ro-bind',
        path.join(etc, 'hosts'),
        '/etc/hosts',
        '--ro-bind',
        path.join(etc, 'resolv.conf'),
        '/etc/resolv.conf',
        '--ro-bind',
        path.join(etc, 'nsswitch.conf'),
        '/etc/nsswitch.conf',
        ...(fs.existsSync('/etc/ssl/certs')
          ? ['--ro-bind', '/etc/ssl/certs', '/etc/ssl/certs']
          : []),
        ...dirs('/opt', '/opt/function', '/opt/function/runtime', SANDBOX_GUEST_DIR),
        '--ro-bind',
        path.join(request.instanceDir, 'code'),
        SANDBOX_CODE_ROOT,
        '--ro-bind',
        path.join(request.instanceDir, 'deps'),
        SANDBOX_DEPENDENCY_ROOT,
        // Only the family's own guest folders: no other guest, nothing of the host's.
        ...request.guest.folders.flatMap((folder) => [
          '--ro-bind',
          path.join(request.guest.dir, folder),
          path.join(SANDBOX_GUEST_DIR, folder),
        ]),
        ...[...new Set([request.interpreter, ...request.interpreters.map((i) => i.host)])].flatMap(
          (i) => this.#interpreterBinds(i),
        ),
        ...request.interpreters.flatMap((interpreter) =>
          interpreter.sandboxPaths.flatMap((p) => [
            ...dirs(...ancestorsBelow('/opt/function/runtime', p)),
            '--symlink',
            interpreter.host,
            p,
          ]),
        ),
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--size',
        String(SHM_BYTES),
        '--perms',
        '01777',
        '--tmpfs',
        '/dev/shm',
        '--size',
        String(TMP_BYTES),
        '--perms',
        '01777',
        '--tmpfs',
        '/tmp',
        '--chdir',
        SANDBOX_CODE_ROOT,
        ...Object.entries(request.env).flatMap(([k, v]) => ['--setenv', k, v]),
        '--seccomp',
        '4',
        ...dropPrivileges(this.#setpriv, uid, [
          request.interpreter,
          ...request.interpreterArgs,
          path.join(SANDBOX_GUEST_DIR, request.guest.script),
        ]),
      ]
      const argv = joinCgroupsThen(cgroup, rlimits(this.#prlimit, bwrapArgs))
      const [command = '', ...args] = argv
      return {
        command,
        args,
        cwd: '/',
        env: {},
        extraFiles: [this.#seccompFile],
        paths: {
          codeRoot: SANDBOX_CODE_ROOT,
          dependencyRoot: SANDBOX_DEPENDENCY_ROOT,
          tmpDir: '/tmp',
        },
      }
    })
  }
}

/**
 * Namespaces and cgroups without a constructed root: the instance sees the host's filesystem as
 * its uid may (Strato makes the data dir traversable, its code trees are world-readable).
 */
class UnshareSandbox implements Sandbox {
  readonly network = undefined
  readonly level = 'unshare' as const
  readonly description =
    'unshare: pid, net, ipc, uts and mount namespaces, per-instance cgroup and unprivileged uid; the host filesystem is visible (read through permissions), no seccomp filter'
  readonly #unshare: string
  readonly #setpriv: string
  readonly #prlimit: string
  readonly #cgroups: CgroupManager
  readonly #uids: UidPool
  readonly #uidReservation: UidRangeReservation

  constructor(
    tools: { unshare: string; setpriv: string; prlimit: string },
    cgroups: CgroupManager,
    options: SandboxOptions,
  ) {
    this.#unshare = tools.unshare
    this.#setpriv = tools.setpriv
    this.#prlimit = tools.prlimit
    this.#cgroups = cgroups
    this.#uidReservation = reserveUidRange(options.uids)
    this.#uids = new UidPool(this.#uidReservation.range.first, this.#uidReservation.range.count)
  }

  get uids(): UidRange {
    return this.#uidReservation.range
  }

  reapLeftovers(): Promise<string[]> {
    return this.#cgroups.reapAll()
  }

  async close(): Promise<void> {
    try {
      await this.#cgroups.close()
    } finally {
      this.#uidReservation.release()
    }
  }

  prepare(request: CellRequest): CellPlan {
    return confine(this.#cgroups, this.#uids, request, (cgroup, uid) => {
      // The instance's uid must reach its own dirs: code and deps readable, tmp its own.
      fs.chmodSync(path.dirname(request.instanceDir), 0o711)
      fs.chmodSync(path.dirname(path.dirname(request.instanceDir)), 0o711)
      fs.chmodSync(request.instanceDir, 0o711)
      for (const sub of ['code', 'deps']) {
        fs.mkdirSync(path.join(request.instanceDir, sub), { mode: 0o755 })
      }
      const tmp = path.join(request.instanceDir, 'tmp')
      fs.mkdirSync(tmp, { mode: 0o700 })
      fs.chownSync(tmp, uid, uid)
      const argv = joinCgroupsThen(
        cgroup,
        rlimits(this.#prlimit, [
          this.#unshare,
          '--pid',
          '--fork',
          '--kill-child',
          '--mount-proc',
          '--net',
          '--ipc',
          '--uts',
          ...dropPrivileges(this.#setpriv, uid, [
            request.interpreter,
            ...request.interpreterArgs,
            path.join(request.guest.dir, request.guest.script),
          ]),
        ]),
      )
      const [command = '', ...args] = argv
      return {
        command,
        args,
        cwd: path.join(request.instanceDir, 'code'),
        env: { ...request.env, HOME: tmp, TMPDIR: tmp },
        extraFiles: [],
        paths: {
          codeRoot: path.join(request.instanceDir, 'code'),
          dependencyRoot: path.join(request.instanceDir, 'deps'),
          tmpDir: tmp,
        },
      }
    })
  }
}

/**
 * `setpriv --pdeathsig SIGKILL` ends the instance when Strato dies, even by SIGKILL; `prlimit`
 * applies the rlimits (address space too, as nothing else caps memory here) before the runtime's
 * first instruction. Both come with util-linux.
 */
class RlimitSandbox implements Sandbox {
  readonly network = undefined
  readonly uids = undefined
  readonly level = 'rlimits' as const
  readonly description =
    "WEAK: plain child processes running as Strato's own user with rlimits (address space, fds, processes) and a parent-death signal; no namespaces, cgroups, seccomp or separate uid"
  readonly #setpriv: string
  readonly #prlimit: string

  constructor(setpriv: string, prlimit: string) {
    this.#setpriv = setpriv
    this.#prlimit = prlimit
  }

  reapLeftovers(): Promise<string[]> {
    return Promise.resolve([])
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  prepare(request: CellRequest): CellPlan {
    const [command = '', ...args] = [
      this.#setpriv,
      '--pdeathsig',
      'SIGKILL',
      '--',
      ...rlimits(
        this.#prlimit,
        [
          request.interpreter,
          ...request.interpreterArgs,
          path.join(request.guest.dir, request.guest.script),
        ],
        {
          addressSpace: request.memoryBytes + request.addressSpaceHeadroomBytes,
          processes: PROCESSES,
        },
      ),
    ]
    return hostPlan(request, command, args)
  }
}

class NoSandbox implements Sandbox {
  readonly network = undefined
  readonly uids = undefined
  readonly level = 'none' as const
  readonly description =
    'UNCONFINED: setpriv/prlimit (util-linux) not found, instances run as plain child processes without limits'

  reapLeftovers(): Promise<string[]> {
    return Promise.resolve([])
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  prepare(request: CellRequest): CellPlan {
    return hostPlan(request, request.interpreter, [
      ...request.interpreterArgs,
      path.join(request.guest.dir, request.guest.script),
    ])
  }
}

/** Whether bubblewrap can build a sandbox here (it may be installed but refused by the kernel). */
function bubblewrapWorks(bwrap: string): string | undefined {
  const r = spawnSync(
    bwrap,
    [
      '--unshare-pid',
      '--unshare-net',
      '--unshare-ipc',
      '--unshare-uts',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '/usr/bin/true',
    ],
    { encoding: 'utf8', timeout: 5000 },
  )
  return r.status === 0
    ? undefined
    : `bubblewrap failed: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`
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
    return { sandbox: new UnshareSandbox({ unshare, setpriv, prlimit }, cgroups, options), notes }
  }
  if (want === 'bubblewrap' || want === 'unshare') {
    notes.push(`isolation '${want}' was asked for but is not available`)
  }
  return { sandbox: new RlimitSandbox(setpriv, prlimit), notes }
}
