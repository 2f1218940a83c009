/** @module triggers: what invokes functions from outside the API (trigger sources: the APIG gateway; timers next). */
export { TriggerSources } from './trigger-sources.js'
export type { OwnAttemptDeps, TriggerCatalog, TriggerSourceDeps } from './trigger-sources.js'
export type {
  TriggerCursors,
  OwnAttempts,
  OwnAttemptSettings,
  OwnEvent,
  OwnOutcome,
  TriggerHealth,
  TriggerHealthReport,
  TriggerSource,
  TriggerSourceContext,
} from './trigger-source.js'
export { ApigGateway } from './apig-gateway.js'
export { RabbitmqSource } from './rabbitmq-source.js'
export type { RabbitmqSourceOptions } from './rabbitmq-source.js'
export { parseRabbitmqEventData, rabbitmqEvent, rabbitmqQueueName } from './rabbitmq-event-data.js'
export type { ApigGatewayOptions } from './apig-gateway.js'
export { ApigRouter } from './apig-router.js'
export type { RouteMatch } from './apig-router.js'
export { parseApigEventData, validateApigPath } from './apig-event-data.js'
export { TimerSource } from './timer-source.js'
export { parseTimerEventData, timerSchedule } from './timer-schedule.js'
export { LtsSource, parseLtsEventData } from './lts-source.js'
export type { LtsSourceOptions } from './lts-source.js'
export { CtsSource } from './cts-source.js'
export type { CtsSourceOptions } from './cts-source.js'
export { LeaderOnlySource } from './leader-only-source.js'
export type { LeadershipSignal } from './leader-only-source.js'
