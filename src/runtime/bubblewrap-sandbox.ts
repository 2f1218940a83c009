/**
 * @module The strongest sandbox level: bubblewrap with every namespace, a minimal read-only root
 * (code at /opt/function/code, only the family's guest folders under /opt/function/runtime/strato,
 * FunctionGraph's interpreter paths), private /tmp and /dev/shm, a seccomp deny-list, and a
 * per-instance cgroup and unprivileged uid. See ADR 0005 for why bubblewrap is launched by root
 * and drops to the uid inside.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { CgroupManager } from './cgroups.js'
import {
  ancestorsBelow,
  dropPrivileges,
  inside,
  joinCgroupsThen,
  rlimits,
  SANDBOX_CODE_ROOT,
  SANDBOX_DEPENDENCY_ROOT,
  SANDBOX_GUEST_DIR,
  SHM_BYTES,
  TMP_BYTES,
  UidConfinedSandbox,
} from './confinement.js'
import { EgressNetwork } from './egress-network.js'
import { hostPrograms, IMAGE_GUEST_DIR, type HostPrograms } from './image-root.js'
import { NetnsDialer } from './netns-dialer.js'
import type { CellPlan, CellRequest, Sandbox, SandboxOptions } from './sandbox.js'
import { buildSeccompFilter } from './seccomp-filter.js'

export class BubblewrapSandbox extends UidConfinedSandbox implements Sandbox {
  readonly network: NetnsDialer
  readonly egress: { readonly enabled: boolean; readonly reason: string | undefined }
  /** Undefined: instances keep only their loopback (`egress.reason` says why). */
  readonly #egress: EgressNetwork | undefined
  readonly level = 'bubblewrap' as const
  readonly description =
    'bubblewrap: mount, pid, net, ipc, uts and cgroup namespaces; read-only minimal root; private /tmp and /dev/shm; seccomp deny-list; per-instance cgroup (memory, pids, cpu) and unprivileged uid'
  readonly #bwrap: string
  readonly #setpriv: string
  readonly #prlimit: string
  readonly #seccompFile: string
  readonly #stateDir: string
  /** By interpreter path: what an image sandbox shows of the host (ldd runs once). */
  readonly #hostPrograms = new Map<string, HostPrograms>()

  constructor(
    tools: { bwrap: string; setpriv: string; prlimit: string },
    cgroups: CgroupManager,
    options: SandboxOptions,
  ) {
    // The files every sandbox binds first: the uid range is reserved (by super) only once
    // nothing else can fail.
    const seccompFile = path.join(options.stateDir, 'seccomp.bpf')
    fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o755 })
    fs.rmSync(seccompFile, { force: true })
    fs.writeFileSync(seccompFile, buildSeccompFilter(), { mode: 0o444 })
    const network = new NetnsDialer(options.pythonCommand)
    const egress =
      options.egress === undefined
        ? { reason: 'no egress settings: instances have only their loopback' }
        : EgressNetwork.setUp(options.egress, options.scope, network)
    const etc = path.join(options.stateDir, 'etc')
    fs.mkdirSync(etc, { recursive: true })
    const names =
      'network' in egress
        ? egress.network.etc
        : {
            hosts: '127.0.0.1 localhost\n::1 localhost\n',
            resolvConf: '',
            nsswitchHosts: 'hosts: files\n',
          }
    fs.writeFileSync(path.join(etc, 'hosts'), names.hosts)
    fs.writeFileSync(path.join(etc, 'resolv.conf'), names.resolvConf)
    fs.writeFileSync(
      path.join(etc, 'nsswitch.conf'),
      `passwd: files\ngroup: files\n${names.nsswitchHosts}`,
    )
    try {
      super(cgroups, options.uids)
    } catch (err) {
      if ('network' in egress) {
        egress.network.close()
      }
      throw err
    }
    this.#bwrap = tools.bwrap
    this.#setpriv = tools.setpriv
    this.#prlimit = tools.prlimit
    this.#stateDir = options.stateDir
    this.#seccompFile = seccompFile
    this.network = network
    this.#egress = 'network' in egress ? egress.network : undefined
    this.egress =
      'network' in egress ? { enabled: true, reason: undefined } : { enabled: false, ...egress }
    if (this.#egress !== undefined) {
      // Starts the helper now, so the first specialisation does not pay for it.
      void network.nft('').catch(() => undefined)
    }
  }

  protected override async stopLevel(): Promise<void> {
    await this.network.stop()
    this.#egress?.close()
  }

  /** The plan with the instance's egress: wired at boot, its policy taken back before release. */
  #withEgress(plan: CellPlan): CellPlan {
    const cell = plan.uid === undefined ? undefined : this.#egress?.cell(plan.uid)
    if (cell === undefined) {
      return plan
    }
    return {
      ...plan,
      egress: cell,
      release: async () => {
        let keepUid = false
        try {
          await cell.detach()
        } catch (err) {
          // The address is the uid's: handed to the next cell (the pool reuses the latest uid
          // first), it would inherit this policy. Out of use until the server stops instead.
          keepUid = true
          process.emitWarning(
            `Instance address ${cell.address} (uid ${plan.uid}) kept its egress policy (${(err as Error).message}): the uid is out of use until Strato stops.`,
          )
        }
        await plan.release(keepUid)
      },
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
    return this.#withEgress(
      request.rootFileSystem === 'image'
        ? this.#prepareImageRoot(request)
        : this.#prepareMinimalRoot(request),
    )
  }

  #prepareMinimalRoot(request: CellRequest): CellPlan {
    return this.confine(request, (cgroup, uid) => {
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
        ...request.interpreters.flatMap((i) =>
          (i.configDirs ?? []).flatMap((d) => ['--ro-bind', d, d]),
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

  /**
   * A sandbox whose root is the function's container image (ADR 0011): `instanceDir/code`, empty
   * at boot (a stem cell) and filled with the image's tree at specialisation, bound as `/` and
   * made read-only once bubblewrap has made its mount points in it. The host's Node.js, setpriv
   * and their libraries are under /.strato, run through the host's loader.
   */
  #prepareImageRoot(request: CellRequest): CellPlan {
    let programs = this.#hostPrograms.get(request.interpreter)
    if (programs === undefined) {
      programs = hostPrograms({ node: request.interpreter, setpriv: this.#setpriv })
      this.#hostPrograms.set(request.interpreter, programs)
    }
    const shown = programs
    return this.confine(request, (cgroup, uid) => {
      const root = path.join(request.instanceDir, 'code')
      fs.mkdirSync(root, { mode: 0o755 })
      const [, ...dropFlags] = dropPrivileges('setpriv', uid, [
        ...shown.run('node'),
        ...request.interpreterArgs,
        path.posix.join(IMAGE_GUEST_DIR, request.guest.script),
      ])
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
        '--bind',
        root,
        '/',
        ...shown.binds,
        ...request.guest.folders.flatMap((folder) => [
          '--ro-bind',
          path.join(request.guest.dir, folder),
          path.posix.join(IMAGE_GUEST_DIR, folder),
        ]),
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
        // Every mount point exists now; the image's files arrive later through the host's path.
        '--remount-ro',
        '/',
        '--chdir',
        '/',
        ...Object.entries(request.env).flatMap(([k, v]) => ['--setenv', k, v]),
        '--seccomp',
        '4',
        ...shown.run('setpriv'),
        ...dropFlags,
      ]
      const argv = joinCgroupsThen(cgroup, rlimits(this.#prlimit, bwrapArgs))
      const [command = '', ...args] = argv
      return {
        command,
        args,
        cwd: '/',
        env: {},
        extraFiles: [this.#seccompFile],
        paths: { codeRoot: '/', dependencyRoot: SANDBOX_DEPENDENCY_ROOT, tmpDir: '/tmp' },
      }
    })
  }
}

/** Whether bubblewrap can build a sandbox here (it may be installed but refused by the kernel). */
export function bubblewrapWorks(bwrap: string): string | undefined {
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
