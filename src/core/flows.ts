/**
 * @module Function flows (workflows) as records: what the store keeps and the API shows. The
 * engine's own representation (ASL IR) lives in `flows`; here a definition is JSON text, so core
 * does not depend on it.
 */

export type FlowMode = 'NORMAL' | 'EXPRESS'

/** The language a workflow was written in. */
export type FlowLanguage = 'huawei-v2' | 'asl'

export interface WorkflowRecord {
  /** A UUID. */
  readonly id: string
  readonly projectId: string
  readonly name: string
  readonly description: string
  readonly mode: FlowMode
  /** `urn:fss:<region>:<project>:workflow:default:<name>:latest` */
  readonly urn: string
  readonly language: FlowLanguage
  /** What the user sent (the v2 WorkflowCreateBody or the ASL definition), returned by show. */
  readonly definitionJson: string
  /** The compiled, validated ASL IR (JSON text); executions snapshot it when they start. */
  readonly irJson: string
  readonly enableStreamResponse: boolean
  readonly createdBy: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** Huawei's execution statuses (the paged history adds more; see the API). */
export type ExecutionStatus = 'running' | 'success' | 'fail' | 'timeout' | 'cancel'

export interface ExecutionRecord {
  /** The run id functions see (`X-Cff-Workflow-Run-Id`); kept by a retry. */
  readonly id: string
  readonly workflowId: string
  readonly projectId: string
  readonly workflowUrn: string
  readonly workflowName: string
  readonly mode: FlowMode
  readonly status: ExecutionStatus
  /** JSON text. */
  readonly inputJson: string
  /** JSON text, once succeeded. */
  readonly outputJson: string | undefined
  /** ASL error name and cause, and the node that failed, once failed/timed out. */
  readonly error: ExecutionError | undefined
  /** The `headers` of the start request body (JSON object text). */
  readonly headersJson: string
  /** The IR the execution runs (snapshot of the workflow's `irJson` at start). */
  readonly irJson: string
  readonly createdBy: string
  readonly beginAt: Date
  readonly endAt: Date | undefined
  readonly updatedAt: Date
  /** How many times `retry` redrove it (0 at first). */
  readonly redriveCount: number
  /** How many history events it has (bounded: see FLOW_HISTORY_LIMIT). */
  readonly eventCount: number
}

export interface ExecutionError {
  readonly error: string
  readonly cause: string | undefined
  /** The user-facing node id whose failure ended the run, when one did. */
  readonly nodeId: string | undefined
}

/** Past this many events an execution fails with `States.HistoryLimitExceeded`. */
export const FLOW_HISTORY_LIMIT = 25_000

export type FlowEventType =
  | 'ExecutionStarted'
  | 'ExecutionRedriven'
  | 'StateEntered'
  | 'StateExited'
  | 'StateFailed'
  | 'TaskScheduled'
  | 'TaskSucceeded'
  | 'TaskFailed'
  | 'TimerStarted'
  | 'CallbackReceived'
  | 'ExecutionSucceeded'
  | 'ExecutionFailed'
  | 'ExecutionTimedOut'
  | 'ExecutionStopped'

/** One entry of an execution's append-only history. */
export interface FlowEvent {
  readonly executionId: string
  /** 1, 2, 3, … without gaps. */
  readonly seq: number
  readonly type: FlowEventType
  /** The effect's path (see flows/asl/host.ts); '' for execution-level events. */
  readonly path: string
  readonly stateName: string
  readonly nodeId: string
  readonly nodeName: string
  readonly attempt: number
  /** Epoch ms. */
  readonly at: number
  /** Type-specific JSON text (input, output, error/cause, fire time, …). */
  readonly payloadJson: string
  /** The function invocation's request id (task events). */
  readonly requestId: string | undefined
}

export type NewFlowEvent = Omit<FlowEvent, 'executionId' | 'seq'>
