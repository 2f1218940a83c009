/**
 * @module The Sandbox seam: how an instance's process is confined. This build provides the
 * `rlimits` level (address-space, fd and process rlimits, parent-death signal, own process group);
 * namespaces and cgroups (bubblewrap, unshare) plug in here as further levels.
 */
import { spawnSync } from 'node:child_process'

/** From strongest to weakest; the level reached is reported at start and on /strato/info. */
export type IsolationLevel = 'bubblewrap' | 'unshare' | 'rlimits' | 'none'

export interface SandboxLimits {
  readonly addressSpaceBytes: number
  readonly openFiles: number
  readonly processes: number
}

export interface SandboxedCommand {
  readonly command: string
  readonly args: readonly string[]
}

export interface Sandbox {
  readonly level: IsolationLevel
  /** One line for the logs: what this level enforces and what it does not. */
  readonly description: string
  /** The command line that runs `argv` confined to `limits`. */
  wrap(argv: readonly string[], limits: SandboxLimits): SandboxedCommand
}

function available(tool: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const candidate = `${dir}/${tool}`
    const r = spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 2000 })
    if (r.status === 0) {
      return candidate
    }
  }
  return undefined
}

/**
 * `setpriv --pdeathsig SIGKILL` ends the instance when Strato dies, even by SIGKILL; `prlimit`
 * applies the rlimits before the runtime's first instruction. Both come with util-linux.
 */
class RlimitSandbox implements Sandbox {
  readonly level = 'rlimits' as const
  readonly description =
    'plain child processes with rlimits (address space, fds, processes) and a parent-death signal; no namespaces, cgroups or seccomp yet'
  readonly #setpriv: string
  readonly #prlimit: string

  constructor(setpriv: string, prlimit: string) {
    this.#setpriv = setpriv
    this.#prlimit = prlimit
  }

  wrap(argv: readonly string[], limits: SandboxLimits): SandboxedCommand {
    return {
      command: this.#setpriv,
      args: [
        '--pdeathsig',
        'SIGKILL',
        '--',
        this.#prlimit,
        `--as=${limits.addressSpaceBytes}`,
        `--nofile=${limits.openFiles}`,
        `--nproc=${limits.processes}`,
        '--',
        ...argv,
      ],
    }
  }
}

class NoSandbox implements Sandbox {
  readonly level = 'none' as const
  readonly description =
    'UNCONFINED: setpriv/prlimit (util-linux) not found, instances run as plain child processes without limits'

  wrap(argv: readonly string[]): SandboxedCommand {
    const [command = '', ...args] = argv
    return { command, args }
  }
}

/** Picks the strongest level this machine supports. */
export function detectSandbox(): Sandbox {
  const setpriv = available('setpriv')
  const prlimit = available('prlimit')
  if (setpriv !== undefined && prlimit !== undefined) {
    return new RlimitSandbox(setpriv, prlimit)
  }
  return new NoSandbox()
}
