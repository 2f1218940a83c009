/**
 * @module core: domain types, the error table, URNs, limits and the ports other subsystems implement.
 * Imports nothing from the rest of src/.
 */
export { ErrorCodes, StratoError, isStratoError } from './errors.js'
export type { ErrorCode, ErrorSpec } from './errors.js'
export { errorResponse } from './error-response.js'
export type {
  ErrorBody,
  ErrorHeaders,
  ErrorResponse,
  ErrorResponseOptions,
} from './error-response.js'
export {
  FunctionErrorTypes,
  SELF_EXIT_MESSAGE_PREFIX,
  functionErrorSpecOf,
  isPlatformFault,
} from './function-errors.js'
export type {
  FunctionErrorOrigin,
  FunctionErrorSpec,
  FunctionErrorType,
} from './function-errors.js'
export {
  formatFunctionUrn,
  parseFunctionUrn,
  validateAliasName,
  validateVersionName,
} from './function-urn.js'
export type { FunctionRef, Qualifier } from './function-urn.js'
export {
  FUNCTIONGRAPH_RUNTIMES,
  HTTP_FUNCTION_HANDLER,
  IMAGE_FUNCTION_HANDLER,
  fixedHandlerOf,
  RUNTIME_FAMILIES,
  SOURCE_EXTENSIONS,
  handlerModuleOf,
  codeFormatOf,
  instanceConcurrencyOf,
  isRuntimeName,
  runtimeFamilyOf,
  servesHttp,
  supportedRuntimes,
} from './runtimes.js'
export type { RuntimeFamily, RuntimeFamilyTraits, RuntimeName } from './runtimes.js'
export {
  asBody,
  functionEgressOf,
  imageOverridesOf,
  parseDependVersionList,
  parseCodeInput,
  parseFunctionConfig,
  validateDescription,
  validateFunctionName,
  validatePackageName,
} from './function-config.js'
export {
  MASKED_VALUE,
  mergeEncryptedUserData,
  userDataEntries,
  validateUserData,
} from './function-environment.js'
export type {
  CodeInput,
  CodeType,
  FunctionConfig,
  FunctionEgress,
  ImageOverrides,
} from './function-config.js'
export { cpuMillicoresOf, instanceKeyOf } from './function.js'
export type { FunctionRecord } from './function.js'
export { callerPresenceOf } from './invocation.js'
export type {
  CallerPresence,
  InvocationRequest,
  InvocationResult,
  Invoker,
  ResponseLike,
} from './invocation.js'
export type { InvocationTrace, LaunchTiming } from './invocation-trace.js'
export {
  asyncStatusLogStreamOf,
  formatInvocationLog,
  logGroupOf,
  logStreamOf,
} from './invocation-log.js'
export type { InvocationRecord } from './invocation-log.js'
export * as Limits from './limits.js'
export { readProcessStartTime } from './process-start-time.js'
export { newRequestId } from './request-id.js'
export { HOP_BY_HOP_HEADERS, httpRequestFromEvent, wrapHttpResponse } from './http-function.js'
export type { HttpRequestMeta, HttpResponseMeta } from './http-function.js'
export {
  ASYNC_STATUSES,
  AsyncErrorCodes,
  DEFAULT_ASYNC_SETTINGS,
  deletedTargetMessage,
  destinationFunctionUrn,
  parseAsyncInvokeConfig,
  qualifierOf,
} from './async-invocation.js'
export type {
  AsyncDestination,
  AsyncInvokeConfig,
  AsyncInvokeConfigInput,
  AsyncLeaseRequest,
  AsyncQueue,
  AsyncRecord,
  AsyncRecordQuery,
  AsyncSettlement,
  AsyncStatus,
  DeadLetter,
  DeletedAsyncTarget,
  LeasedEvent,
  NewAsyncEvent,
  RecoveredLease,
  StoredDeadLetter,
  TerminalAsyncStatus,
} from './async-invocation.js'
export type { FunctionResolver, ResolvedFunction, RoutingInput } from './function-resolver.js'
export { acceptAsyncEvent } from './accept-async-event.js'
export type { AcceptedAsyncEvent, AsyncEventTarget } from './accept-async-event.js'
export {
  APIG_TRIGGER_TYPES,
  TRIGGERS_PER_FUNCTION_VERSION,
  TRIGGER_TYPE_CODES,
  isApigTrigger,
  isApigTriggerType,
  parseTriggerInput,
  triggerErrorCodes,
} from './trigger.js'
export type {
  ApigTriggerRecord,
  ApigTriggerTypeCode,
  ServedTriggerTypes,
  StoredTrigger,
  TriggerChange,
  TriggerChangeFeed,
  TriggerErrorCodes,
  TriggerEventData,
  TriggerHealth,
  TriggerEventDataOf,
  TriggerInput,
  TriggerRecord,
  TriggerStatus,
  TriggerTargetCheck,
  TriggerTypeCode,
} from './trigger.js'
export { APIG_METHODS, SECRET_EVENT_DATA_FIELDS } from './trigger-event-data.js'
export type {
  ApigAuth,
  ApigEventData,
  ApigMethod,
  BrokerEventData,
  CtsEventData,
  DdsEventData,
  DisEventData,
  DmsEventData,
  EventGridEventData,
  GenericEventData,
  KafkaEventData,
  LtsEventData,
  ObsEventData,
  SmnEventData,
  TimerEventData,
  TriggerEventDataByType,
} from './trigger-event-data.js'
export type {
  FunctionPage,
  FunctionRepository,
  ListFunctionsQuery,
  NewFunction,
} from './repositories/functions.js'
export type {
  CodeCollection,
  CodeRepository,
  IngestOptions,
  StoredCode,
} from './repositories/code.js'
export type {
  Alias,
  AliasRepository,
  PublishedVersion,
  VersionRepository,
  VersionRule,
  VersionStrategy,
} from './repositories/versions.js'
export type { TriggerRepository, TriggerTarget } from './repositories/triggers.js'
export type {
  BootstrapHooks,
  BootstrapOutcome,
  BootstrapRequest,
  KeyPair,
  TenantRepository,
} from './repositories/tenants.js'
export { LOG_LEVELS } from './repositories/logs.js'
export type {
  AsyncStatusLogEntry,
  AsyncStatusLogPage,
  AsyncStatusLogSearch,
  InvocationLogPage,
  InvocationLogSearch,
  LogLevel,
  ProjectLogSettingsRepository,
  InvocationLogQuery,
  FedInvocation,
  InvocationLogFeed,
  InvocationLogRepository,
  StoredInvocation,
} from './repositories/logs.js'
export type { AsyncConfigRepository, AsyncRecordRepository } from './repositories/async.js'
export type { AsyncBacklog, UsageHour, UsageQuery, UsageRepository } from './repositories/usage.js'
export type { InvocationObserver } from './invocation-observer.js'
export type { TracingRepository, TracingSettings } from './repositories/tracing.js'
export type {
  DependencyRepository,
  DependencyVersion,
  NewDependencyVersion,
  Tag,
  TagRepository,
  TestEvent,
  TestEventRepository,
} from './repositories/function-data.js'
export { AUDIT_RESOURCE_TYPES, AUDIT_SERVICE_TYPE, traceRatingOf } from './audit.js'
export type { AuditRecord, AuditResourceType, AuditTraceRating } from './audit.js'
export type {
  AuditFeed,
  AuditTraceQuery,
  AuditTrailRepository,
  FedAuditRecord,
} from './repositories/audit.js'
export type { ReservedInstanceRepository } from './repositories/reserved.js'
export type {
  FunctionApp,
  FunctionAppMember,
  FunctionAppRepository,
  FunctionAppStatus,
} from './repositories/function-apps.js'
export type { FunctionCollectRepository } from './repositories/function-collect.js'
export type {
  FunctionSnapshotRepository,
  SnapshotTarget,
} from './repositories/function-snapshots.js'
export type { VpcEndpoint, VpcEndpointRepository } from './repositories/vpc-endpoints.js'
export {
  RESERVED_SHARE_OF_CONCURRENCY,
  parseReservedInstanceInput,
  peakReservedCount,
  reservedQuotaOf,
  tacticsConfigView,
} from './reserved-instances.js'
export type {
  ReservedCronPolicy,
  ReservedInstanceConfig,
  ReservedInstanceInput,
  ReservedMetricPolicy,
  ReservedTarget,
} from './reserved-instances.js'
export { INSTANCE_MEMORY_HEADER, requestedMemoryOf } from './instance-memory.js'
export type {
  ExecutionError,
  ExecutionRecord,
  ExecutionStatus,
  FlowEvent,
  FlowEventType,
  FlowLanguage,
  FlowMode,
  NewFlowEvent,
  WorkflowRecord,
} from './flows.js'
export { FLOW_HISTORY_LIMIT } from './flows.js'
export type {
  ExecutionLease,
  ExecutionQuery,
  ExecutionUpdate,
  FlowRepository,
  FlowStatistics,
  WorkflowQuery,
} from './repositories/flows.js'
export { SINGLE_NODE_CHANGES } from './cluster.js'
export type { ClusterChanges, CodeObjects } from './cluster.js'
export { BoundedMemo } from './bounded-memo.js'
