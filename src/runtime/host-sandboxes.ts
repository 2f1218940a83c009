/**
 * @module The sandbox levels below bubblewrap, where the instance sees the host's filesystem:
 * `unshare` (namespaces, cgroup and uid), `rlimits` (a plain child with rlimits and a
 * parent-death signal) and `none`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { CgroupManager } from './cgroups.js'
import {
  dropPrivileges,
  hostFilesystemPlan,
  hostPlan,
  joinCgroupsThen,
  PROCESSES,
  rlimits,
  UidConfinedSandbox,
} from './confinement.js'
import type { CellPlan, CellRequest, Sandbox, SandboxOptions } from './sandbox.js'

/** Below bubblewrap, instances get no egress (ADR 0023): only the bubblewrap level wires it. */
const NO_EGRESS = {
  enabled: false,
  reason: 'egress needs the bubblewrap sandbox: instances have only their loopback',
} as const

/**
 * Namespaces and cgroups without a constructed root: the instance sees the host's filesystem as
 * its uid may (Strato makes the data dir traversable, its code trees are world-readable).
 */
export class UnshareSandbox extends UidConfinedSandbox implements Sandbox {
  readonly network = undefined
  readonly egress = NO_EGRESS
  readonly level = 'unshare' as const
  readonly description =
    'unshare: pid, net, ipc, uts and mount namespaces, per-instance cgroup and unprivileged uid; the host filesystem is visible (read through permissions), no seccomp filter'
  readonly #unshare: string
  readonly #setpriv: string
  readonly #prlimit: string
  readonly #ip: string | undefined

  constructor(
    tools: { unshare: string; setpriv: string; prlimit: string; ip?: string | undefined },
    cgroups: CgroupManager,
    options: SandboxOptions,
  ) {
    super(cgroups, options.uids)
    this.#unshare = tools.unshare
    this.#setpriv = tools.setpriv
    this.#prlimit = tools.prlimit
    this.#ip = tools.ip
  }

  prepare(request: CellRequest): CellPlan {
    return this.confine(request, (cgroup, uid) => {
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
          // A new network namespace starts with `lo` down: still root here, bring it up, so that
          // guests reaching a server of the function's on 127.0.0.1 (Go's RPC) can connect.
          ...(this.#ip === undefined
            ? []
            : ['/bin/sh', '-c', `${this.#ip} link set lo up 2>/dev/null; exec "$@"`, 'sh']),
          ...dropPrivileges(this.#setpriv, uid, [
            request.interpreter,
            ...request.interpreterArgs,
            path.join(request.guest.dir, request.guest.script),
          ]),
        ]),
      )
      const [command = '', ...args] = argv
      return hostFilesystemPlan(request, command, args)
    })
  }
}

/**
 * `setpriv --pdeathsig SIGKILL` ends the instance when Strato dies, even by SIGKILL; `prlimit`
 * applies the rlimits (address space too, as nothing else caps memory here) before the runtime's
 * first instruction. Both come with util-linux.
 */
export class RlimitSandbox implements Sandbox {
  readonly network = undefined
  readonly egress = NO_EGRESS
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

export class NoSandbox implements Sandbox {
  readonly network = undefined
  readonly egress = NO_EGRESS
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
