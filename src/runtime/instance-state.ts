/**
 * @module The lifecycle of one instance as a table of legal edges, and the one function that moves
 * an instance along them. Anything else is a bug in Strato, never something a guest can cause: the
 * instance checks guest-driven moves (a late `ready`) against its state before asking.
 */
import { StratoError } from '../core/index.js'

/**
 * Lifecycle of one instance.
 * * `booting`  - spawned; the interpreter boots (raced against exit and the start deadline)
 * * `cell`     - booted, no function loaded yet: a stem cell waiting to be specialised
 * * `starting` - specialised; loading the handler and running the initializer, until `ready`
 * * `idle`     - ready, no invocation in flight
 * * `busy`     - invocations in flight (at most `concurrent_num`)
 * * `stopping` - being killed (timeout, crash, retirement, shutdown); takes no more work
 * * `stopped`  - exited and reaped; its dir is removed; terminal
 */
export type InstanceState =
  'booting' | 'cell' | 'starting' | 'idle' | 'busy' | 'stopping' | 'stopped'

/** Every legal edge. Any state but `stopped` may be stopped, and any may die (`stopped`). */
export const INSTANCE_TRANSITIONS: Readonly<Record<InstanceState, readonly InstanceState[]>> = {
  booting: ['cell', 'stopping', 'stopped'],
  cell: ['starting', 'stopping', 'stopped'],
  starting: ['idle', 'stopping', 'stopped'],
  idle: ['busy', 'stopping', 'stopped'],
  busy: ['idle', 'stopping', 'stopped'],
  stopping: ['stopped'],
  stopped: [],
}

const LEGAL: Readonly<Record<InstanceState, ReadonlySet<InstanceState>>> = {
  booting: new Set(INSTANCE_TRANSITIONS.booting),
  cell: new Set(INSTANCE_TRANSITIONS.cell),
  starting: new Set(INSTANCE_TRANSITIONS.starting),
  idle: new Set(INSTANCE_TRANSITIONS.idle),
  busy: new Set(INSTANCE_TRANSITIONS.busy),
  stopping: new Set(INSTANCE_TRANSITIONS.stopping),
  stopped: new Set(INSTANCE_TRANSITIONS.stopped),
}

/** Returns `to` when `from → to` is a legal edge; otherwise throws an `INTERNAL` StratoError. */
export function transition(
  instanceId: string,
  from: InstanceState,
  to: InstanceState,
): InstanceState {
  if (!LEGAL[from].has(to)) {
    throw new StratoError(
      'INTERNAL',
      `Instance ${instanceId} cannot go from '${from}' to '${to}' (illegal state transition).`,
    )
  }
  return to
}
