/**
 * @module Function flows: the ASL engine (`asl/`), Huawei's v2 language compiled to it
 * (`huawei/`), the durable executor (`durable/`) and the FlowEngine port the API uses.
 */
export type {
  AslDefinition,
  ExecutionOutcome,
  JsonObject,
  JsonValue,
  NodeRef,
  QueryLanguage,
  StateBase,
} from './asl/definition.js'
export type {
  ExecutionContext,
  ExecutionHost,
  RunRequest,
  StateEvent,
  TaskOutcome,
  TaskRequest,
} from './asl/host.js'
export type {
  CallbackResult,
  FlowEngine,
  StartOptions,
  SyncExecutionResult,
} from './flow-engine.js'
// asl (interpreter, validation, TestState) exports below
export { runStateMachine } from './asl/interpreter.js'
export { validateDefinition } from './asl/validate-definition.js'
export { parseTaskToken, taskTokenOf } from './asl/run-task.js'
export { testState } from './asl/test-state.js'
export type {
  InspectionData,
  InspectionLevel,
  TestStateConfiguration,
  TestStateMock,
  TestStateRequest,
  TestStateResult,
  TestStateStatus,
} from './asl/test-state.js'
// huawei (v2 compiler) exports below
export {
  compileAslWorkflowBody,
  compileHuaweiWorkflow,
  isAslWorkflowBody,
} from './huawei/compile-workflow.js'
export type { CompiledWorkflow } from './huawei/compile-workflow.js'
// durable (executor, history host) exports below
export { DurableFlowEngine, EXPRESS_TIME_LIMIT_MS } from './durable/durable-engine.js'
export type { DurableFlowEngineOptions } from './durable/durable-engine.js'
export {
  FUNCTION_ERROR,
  FUNCTION_NOT_FOUND,
  FUNCTION_UNAVAILABLE,
  INVOKE_FAILED,
} from './durable/function-calls.js'
export { taskRequestId } from './durable/request-id.js'
export type { FlowAsyncQueue } from './durable/callback-starts.js'
// api-facing helpers (node details, views) exports below
export { NODE_DATA_MAX_CHARS, errorMessageOf, nodeExecutionDetails } from './node-details.js'
export type {
  NodeDetailOptions,
  NodeExecutionDetailView,
  NodeExecutionView,
} from './node-details.js'
