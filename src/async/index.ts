/** @module async: the dispatcher that runs accepted async events to a terminal state. */
export { AsyncDispatcher } from './async-dispatcher.js'
export type { AsyncDispatcherOptions } from './async-dispatcher.js'
export type {
  AsyncConfigOf,
  AsyncTarget,
  AttemptLog,
  ResolveAsyncTarget,
} from './dispatcher-ports.js'
export { RetryPolicy } from './retry-policy.js'
export type { RetryPolicyOptions } from './retry-policy.js'
export { buildDestinationPayload } from './destination-payload.js'
export { terminalSettlement } from './settlements.js'
export type { TerminalOutcome } from './settlements.js'
export type { DestinationCondition, DestinationPayloadInput } from './destination-payload.js'
export { AsyncStatusLog } from './async-status-log.js'
export type { AsyncStatusLogOptions } from './async-status-log.js'
