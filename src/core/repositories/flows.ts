/**
 * @module The function-flow repository port: workflows, their executions and each execution's
 * append-only history, with the leases that keep two engines from driving one execution.
 */
import type {
  ExecutionError,
  ExecutionRecord,
  ExecutionStatus,
  FlowEvent,
  FlowMode,
  NewFlowEvent,
  WorkflowRecord,
} from '../flows.js'

export interface WorkflowQuery {
  readonly projectId: string
  /** Substring match on the name. */
  readonly name?: string
  readonly mode?: FlowMode
  readonly offset: number
  readonly limit: number
}

export interface ExecutionQuery {
  readonly workflowId: string
  readonly status?: ExecutionStatus
  /** Epoch ms bounds on `beginAt`. */
  readonly from?: number
  readonly to?: number
  readonly offset: number
  readonly limit: number
}

/** Counts over executions that began in [from, to). */
export interface FlowStatistics {
  readonly count: number
  /** Mean duration (ms) of finished executions. */
  readonly durationMs: number
  readonly failCount: number
  readonly runningCount: number
}

/** A lease on an execution: its holder appends; a higher token fences every older one out. */
export interface ExecutionLease {
  readonly executionId: string
  readonly token: number
  readonly owner: string
  readonly until: number
}

/** How an append ends an execution (or reopens it, for a retry). */
export interface ExecutionUpdate {
  readonly status: ExecutionStatus
  readonly outputJson?: string
  readonly error?: ExecutionError
  readonly endAt?: number
  readonly redriveCount?: number
}

/**
 * Durable flows. `appendEvents` is the only way history grows: events and the execution's update
 * commit together, and only while the caller's lease token is the current one and the execution
 * is `running` (else it throws a StratoError `FLOW_LEASE_LOST`). Each backend must pass
 * `test/contract/flow-repository.contract.ts`.
 */
export interface FlowRepository {
  /** Throws 409 FGS.xxxx-style StratoError when the project already has a flow by that name. */
  createWorkflow(record: WorkflowRecord): Promise<void>
  getWorkflow(projectId: string, id: string): Promise<WorkflowRecord | undefined>
  getWorkflowByUrn(projectId: string, urn: string): Promise<WorkflowRecord | undefined>
  listWorkflows(query: WorkflowQuery): Promise<{ workflows: WorkflowRecord[]; total: number }>
  updateWorkflow(record: WorkflowRecord): Promise<void>
  /** Deletes it with its executions and their histories; false when there was none. */
  deleteWorkflow(projectId: string, id: string): Promise<boolean>
  countWorkflows(projectId: string): Promise<number>

  /**
   * Creates a `running` execution with its first events (ExecutionStarted) and a lease for
   * `owner`, in one transaction. If an execution with this id exists (a caller-chosen
   * `X-WorkflowRun-ID` sent again), nothing is written and `created` is false.
   */
  createExecution(
    record: ExecutionRecord,
    events: readonly NewFlowEvent[],
    lease: { readonly owner: string; readonly until: number },
  ): Promise<{ readonly created: boolean; readonly lease: ExecutionLease | undefined }>
  getExecution(executionId: string): Promise<ExecutionRecord | undefined>
  listExecutions(query: ExecutionQuery): Promise<{ executions: ExecutionRecord[]; total: number }>
  /** The history in `seq` order (from `afterSeq`, exclusive). */
  events(executionId: string, afterSeq?: number): Promise<FlowEvent[]>
  /** Appends under the lease (see the interface comment); returns the new last seq. */
  appendEvents(
    lease: ExecutionLease,
    events: readonly NewFlowEvent[],
    update?: ExecutionUpdate,
  ): Promise<number>
  /**
   * Takes the lease of a `running` execution whose lease is free, expired at `now`, or already
   * `owner`'s (an engine restarted under the same owner takes back its own leases at once), with a
   * new, higher token; undefined when someone else holds it or it is not running.
   */
  claim(
    executionId: string,
    owner: string,
    now: number,
    until: number,
  ): Promise<ExecutionLease | undefined>
  /** Extends a lease still held; false when it was lost. */
  renew(lease: ExecutionLease, until: number): Promise<boolean>
  release(lease: ExecutionLease): Promise<void>
  /**
   * Ids of `running` executions whose lease is free or expired at `now`, or held by `owner`
   * (recovery after a restart, takeover), oldest first (by begin time, then id). `after` (an id
   * from the previous page) pages on: only executions ordered after it are returned.
   */
  orphaned(now: number, limit: number, owner?: string, after?: string): Promise<string[]>
  /**
   * Reopens a `fail`/`timeout` execution for a retry, in one transaction: status `running`,
   * redrive count + 1, `event` (ExecutionRedriven) appended, and a new lease for `owner`.
   * Undefined when it is not in `fail` or `timeout`.
   */
  redrive(
    executionId: string,
    event: NewFlowEvent,
    lease: { readonly owner: string; readonly until: number },
  ): Promise<ExecutionLease | undefined>
  /**
   * Ends a `running` execution as `cancel` with `event` (ExecutionStopped), whoever holds its
   * lease: the lease token moves on, so its driver's next append is fenced out. False when it was
   * not running.
   */
  stopExecution(executionId: string, event: NewFlowEvent, endAt: number): Promise<boolean>
  /**
   * Appends an event that comes from outside the driver (CallbackReceived) to a `running`
   * execution without a lease; the driver reads it on its next replay. Undefined when it is not
   * running (or its history is full).
   */
  recordEvent(executionId: string, event: NewFlowEvent): Promise<number | undefined>
  statistics(
    projectId: string,
    workflowId: string | undefined,
    from: number,
    to: number,
  ): Promise<FlowStatistics>
}
