/**
 * @module The FlowEngine port: what the API asks of the engine that runs executions. The durable
 * executor implements it (NORMAL: history in the store, leases; EXPRESS: in memory).
 */
import type { ExecutionRecord, WorkflowRecord } from '../core/index.js'
import type { JsonValue } from './asl/definition.js'

export interface StartOptions {
  /** A caller-chosen run id (`X-WorkflowRun-ID`): starting it again returns the same execution. */
  readonly executionId?: string
  /** The `headers` object of the start body, kept with the execution. */
  readonly headers: Readonly<Record<string, string>>
  /** The caller (access key's user or project), shown as `created_by`. */
  readonly createdBy: string
}

/** The answer of a sync (EXPRESS) start, in Huawei's terms. */
export interface SyncExecutionResult {
  readonly executionId: string
  readonly status: 'success' | 'fail' | 'timeout'
  readonly output: JsonValue | undefined
  readonly errors: readonly {
    readonly nodeId: string
    readonly errorMessage: string
    readonly beginAt: number
    readonly endAt: number
  }[]
  readonly beginAt: number
  readonly endAt: number
}

export type CallbackResult =
  | { readonly result: 'success'; readonly output: JsonValue }
  | { readonly result: 'fail'; readonly error: string; readonly output?: JsonValue }

export interface FlowEngine {
  /** Starts an execution; resolves once it is durable (NORMAL) and running. */
  start(
    workflow: WorkflowRecord,
    input: JsonValue,
    options: StartOptions,
  ): Promise<{ readonly executionId: string }>
  /** Runs an EXPRESS workflow to its end (≤ 5 min) and answers with its outcome. */
  startSync(
    workflow: WorkflowRecord,
    input: JsonValue,
    options: StartOptions,
  ): Promise<SyncExecutionResult>
  /** Stops a running execution (→ `cancel`); 400 FLOW_INVALID_EXECUTION when it has ended. */
  stop(execution: ExecutionRecord): Promise<void>
  /**
   * Redrives a failed or timed-out execution from where it failed: completed steps (and finished
   * Map iterations / Parallel branches) are not run again. Keeps the execution id.
   */
  retry(execution: ExecutionRecord): Promise<void>
  /**
   * Completes a state waiting for a callback (`X-Workflow-Run-Id` = execution id,
   * `X-Workflow-State-Id` = the state's node id). 400 FLOW_INVALID_EXECUTION when it is not waiting.
   */
  callback(execution: ExecutionRecord, stateId: string, result: CallbackResult): Promise<void>
  /** Recovers orphaned executions (at start, then periodically), and stops on close. */
  resume(): Promise<void>
  close(): Promise<void>
}
