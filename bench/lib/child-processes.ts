/**
 * The processes a bench script starts (Strato, the bare server, a direct app), stopped on the way
 * out: at the end, on error, and on Ctrl-C or SIGTERM. A process that exits before the script stops
 * it, or that needs SIGKILL, is reported as a problem.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { REPO_ROOT } from './settings.js'

export type ReportProblem = (problem: string) => void

export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  /** Resolves once the process is gone. */
  readonly exited: Promise<void>
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  stopping: boolean
}

export interface StartOptions {
  /** The working directory: the repository root unless given. */
  readonly cwd?: string
  /** stdin, stdout, stderr: `['ignore', 'pipe', 'pipe']` unless given. */
  readonly stdio?: StdioOptions
}

export class ChildProcesses {
  readonly #children = new Set<Child>()
  readonly #afterStop = new Set<() => void>()
  readonly #report: ReportProblem
  #cleanedUp: Promise<void> | undefined

  constructor(report: ReportProblem) {
    this.#report = report
  }

  /** Starts `node args…` with exactly `env`. */
  start(name: string, args: string[], env: NodeJS.ProcessEnv, options: StartOptions = {}): Child {
    const proc = spawn(process.execPath, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    })
    let resolveExit: () => void = () => undefined
    const exited = new Promise<void>((resolve) => {
      resolveExit = resolve
    })
    const child: Child = { name, proc, exited, exit: undefined, stopping: false }
    proc.once('exit', (code, signal) => {
      child.exit = { code, signal }
      this.#children.delete(child)
      if (!child.stopping) {
        this.#report(`${name} exited unexpectedly (code ${String(code)}, signal ${String(signal)})`)
      }
      resolveExit()
    })
    proc.once('error', (err) => {
      this.#report(`${name}: ${err.message}`)
      child.exit ??= { code: null, signal: null }
      this.#children.delete(child)
      resolveExit()
    })
    this.#children.add(child)
    return child
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(child: Child, graceMs = 5000): Promise<void> {
    child.stopping = true
    if (child.exit !== undefined) {
      return
    }
    child.proc.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      child.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs)
      }),
    ])
    clearTimeout(timer)
    if (timedOut) {
      this.#report(`${child.name} did not stop within ${graceMs} ms of SIGTERM; killed`)
      child.proc.kill('SIGKILL')
      await child.exited
    }
  }

  /**
   * Registers clean-up that runs once the children are stopped (or SIGKILLed, when the script
   * exits some other way): synchronous, as nothing async can run in an `exit` handler. Returns
   * the function that unregisters it, which says whether it was still registered (had not run).
   */
  afterStop(hook: () => void): () => boolean {
    this.#afterStop.add(hook)
    return () => this.#afterStop.delete(hook)
  }

  /** Stops every child still running, then runs the `afterStop` hooks. Runs once. */
  cleanup(): Promise<void> {
    this.#cleanedUp ??= (async () => {
      await Promise.all([...this.#children].map((c) => this.stop(c)))
      this.#runAfterStop()
    })()
    return this.#cleanedUp
  }

  /**
   * Stops everything on SIGINT and SIGTERM (then exits 130 or 143), and SIGKILLs what is left when
   * the script exits any other way.
   */
  stopOnExit(label: string): void {
    process.on('exit', () => {
      for (const c of this.#children) {
        c.proc.kill('SIGKILL')
      }
      this.#runAfterStop()
    })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`\n${label}: ${signal}; stopping everything it started`)
        void this.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
      })
    }
  }

  #runAfterStop(): void {
    for (const hook of [...this.#afterStop]) {
      this.#afterStop.delete(hook)
      hook()
    }
  }
}

/**
 * Polls `probe` every 50 ms until it says yes (a throw counts as no). Throws when `child` exits
 * first or `timeoutMs` pass.
 */
export async function waitUntilReady(
  what: string,
  child: Child | undefined,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child?.exit !== undefined) {
      throw new Error(`${child.name} exited before ${what} (code ${String(child.exit.code)})`)
    }
    if (await probe().catch(() => false)) {
      return
    }
    await sleep(50)
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`)
}
