/** @module What an instance is made of: its cell (process, sandbox, dir) and its specialisation. */
import type { TransportKind } from './guest-transport.js'
import type { InstanceNetwork } from './netns-dialer.js'
import type { CellPlan } from './sandbox.js'

export interface CellSpec {
  readonly instanceId: string
  /** The sandboxed command and what to release when the instance is gone. */
  readonly plan: CellPlan
  /** The instance's private host dir (code links, tmp, pid file); removed at stop. */
  readonly instanceDir: string
  /** For booting the interpreter, and again for loading the handler module. */
  readonly startTimeoutMs: number
  /**
   * The nice value the cell boots at (a background boot yields the CPU to cold starts in
   * progress); `specialise` puts every process of the cell back to 0. Undefined: 0 throughout.
   */
  readonly bootNiceness?: number
}

export interface Specialisation {
  readonly env: Readonly<Record<string, string>>
  readonly memorySizeMb: number
  /** Invocations the instance may serve at once (`concurrent_num`; 1 for most runtimes). */
  readonly concurrency: number
  /** HTTP functions: how requests reach the server on port 8000 in the instance's namespace. */
  readonly network?: InstanceNetwork
  /** What the family's guest speaks for invocations; by default HTTP exactly when `network` is set. */
  readonly transport?: TransportKind
  /** 0 when there is no initializer. */
  readonly initializerTimeoutMs: number
}
