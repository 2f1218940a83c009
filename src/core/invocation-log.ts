/**
 * @module The FunctionGraph invocation log format: the function's own output framed by the
 * `Start invoke request` and `Finish invoke request` lines. Built only when someone reads it, so
 * the hot path stores the output and a few numbers, not formatted text.
 */

/** What is recorded of one invocation. */
export interface InvocationRecord {
  readonly requestId: string
  /** Attempt number: async events may run several times under one request id (1 when absent). */
  readonly attempt?: number
  readonly version: string
  readonly startedAtMs: number
  readonly durationMs: number
  readonly billedDurationMs: number
  readonly memorySizeMb: number
  readonly memoryUsedMb: number
  /** Undefined on success. */
  readonly errorType: string | undefined
  readonly errorMessage: string | undefined
  /** What the function wrote (stdout, stderr, its logger), as captured. */
  readonly output: string
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z'
}

/** The log as FunctionGraph shows it (reference §4.7). */
export function formatInvocationLog(r: InvocationRecord): string {
  const end = r.startedAtMs + r.durationMs
  const failed = r.errorType !== undefined
  let log = `${isoSeconds(r.startedAtMs)} Start invoke request '${r.requestId}', version: ${r.version}\n`
  if (r.output !== '') {
    log += r.output.endsWith('\n') ? r.output : `${r.output}\n`
  }
  if (failed) {
    log += `${isoSeconds(end)} ${r.requestId} ERROR ${r.errorType}: ${r.errorMessage ?? ''}\n`
  }
  log += `${isoSeconds(end)} Finish invoke request '${r.requestId}'${failed ? '(invoke Failed)' : ''}, duration: ${r.durationMs.toFixed(3)}ms, billing duration: ${r.billedDurationMs}ms, memory used: ${r.memoryUsedMb.toFixed(3)}MB, billing memory: ${r.memorySizeMb}MB\n`
  return log
}

/**
 * Strato's LTS naming (FunctionGraph's `lts-log-detail`, and what an LTS trigger subscribes to):
 * a project's functions log into one group, whose id is the project id.
 */
export function logGroupOf(projectId: string): { readonly id: string; readonly name: string } {
  return { id: projectId, name: `functiongraph-${projectId}` }
}

/** Each function logs into its own stream of its project's group, whose id is its `func_id`. */
export function logStreamOf(fn: {
  readonly id: string
  readonly packageName: string
  readonly name: string
}): { readonly id: string; readonly name: string } {
  return { id: fn.id, name: `${fn.packageName}-${fn.name}` }
}

/**
 * The stream of a project's group that async status changes go to once the project turned them on
 * (`enable-async-status-logs`); one per project, whose id is derived from the project id.
 */
export function asyncStatusLogStreamOf(projectId: string): {
  readonly id: string
  readonly name: string
} {
  return { id: `${projectId}-async-status`, name: 'functiongraph-async-status-log' }
}
