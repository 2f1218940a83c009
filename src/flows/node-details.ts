/**
 * @module nodeExecutionDetails: an execution's history folded into FunctionGraph's
 * `node_execution_details` — one entry per user-facing node (the IR's `Strato.Node`, carried by
 * every event as nodeId/nodeName), each with one `executions` entry per function attempt, or per
 * visit for nodes that call no function (Sleep, Switch, Parallel, Pass, End). Built from the
 * history alone, so a running execution shows what has completed and what is in flight.
 *
 * Each entry also has `path` (a Strato extension the SDK ignores): the effect's path from the
 * history (`Fan#1/b0/Fetch#1@2`), which says where it sits in Parallel branches and Foreach
 * iterations (the CLI draws the tree from it); a function attempt also has `function_urn`.
 */
import type { ExecutionStatus, FlowEvent } from '../core/index.js'
import type { JsonValue } from './asl/definition.js'

/** One attempt or visit (the SDK's `NodeExecution`). Times are epoch ms. */
export interface NodeExecutionView {
  readonly status: ExecutionStatus
  readonly input: JsonValue | undefined
  readonly output: JsonValue | undefined
  readonly begin_time: number
  readonly end_time: number | undefined
  readonly error_message: string | undefined
  readonly request_id: string | undefined
  readonly path: string
  /** The function a task attempt called (Strato extension). */
  readonly function_urn?: string
}

/** One node (the SDK's `NodeExecutionDetail`). */
export interface NodeExecutionDetailView {
  readonly node_id: string
  readonly node_name: string
  readonly execution_id: string
  readonly executions: NodeExecutionView[]
}

export interface NodeDetailOptions {
  /**
   * Inputs and outputs whose JSON is longer than this many characters are cut to a string of this
   * length ending in `…(truncated)`; undefined keeps everything
   * (`X-Get-Workflow-Full-History-Data: true`).
   */
  readonly maxDataChars?: number
  /**
   * How the execution stands: attempts and visits still open in a run that has ended show
   * `timeout` (the run timed out) or `cancel` (stopped, or a branch the run no longer waited for)
   * instead of `running`.
   */
  readonly executionStatus: ExecutionStatus
}

/** The bound on one input or output in node details unless the caller asks for full data. */
export const NODE_DATA_MAX_CHARS = 4096

const TRUNCATED = '…(truncated)'

interface Payload {
  readonly input?: JsonValue
  readonly payload?: JsonValue
  readonly output?: JsonValue
  readonly error?: JsonValue
  readonly cause?: JsonValue
  /** A callback's `result` (`success` | `fail`). */
  readonly result?: JsonValue
  /** The Task's resource (TaskScheduled). */
  readonly resource?: JsonValue
}

function payloadOf(event: FlowEvent): Payload {
  try {
    const value = JSON.parse(event.payloadJson) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
  } catch {
    return {}
  }
}

/** A task attempt's path is its visit's path plus `@n` (n > 1). */
function visitPathOf(path: string): string {
  return path.replace(/@\d+$/, '')
}

/** The attempt's own path: `@n` is added when the event's path does not carry it. */
function attemptPathOf(e: FlowEvent): string {
  return e.attempt > 1 && !/@\d+$/.test(e.path) ? `${e.path}@${e.attempt}` : e.path
}

/**
 * Huawei shows a function's own message: a cause that is JSON `{errorMessage}` (what the durable
 * host records for function errors and timeouts) gives it; otherwise the error name and cause.
 */
export function errorMessageOf(error: string, cause: string | undefined): string {
  if (cause !== undefined && cause !== '') {
    try {
      const parsed = JSON.parse(cause) as unknown
      if (typeof parsed === 'object' && parsed !== null && 'errorMessage' in parsed) {
        const message = parsed.errorMessage
        if (typeof message === 'string' && message !== '') {
          return `${error}: ${message}`
        }
      }
    } catch {
      // not JSON: shown as it is
    }
    return `${error}: ${cause}`
  }
  return error
}

function bounded(value: JsonValue | undefined, max: number | undefined): JsonValue | undefined {
  if (value === undefined || max === undefined) {
    return value
  }
  const text = JSON.stringify(value)
  return text.length > max
    ? `${text.slice(0, Math.max(0, max - TRUNCATED.length))}${TRUNCATED}`
    : value
}

function failureStatus(error: string): ExecutionStatus {
  return error === 'States.Timeout' ? 'timeout' : 'fail'
}

function asText(value: JsonValue | undefined): string | undefined {
  if (value === undefined || value === null) {
    return undefined
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

interface Entry {
  status: ExecutionStatus
  input: JsonValue | undefined
  output: JsonValue | undefined
  begin: number
  end: number | undefined
  errorMessage: string | undefined
  requestId: string | undefined
  path: string
  functionUrn?: string
}

interface NodeAccumulator {
  readonly id: string
  readonly name: string
  /** Task attempts in the order they were scheduled (a retry of the run adds new ones). */
  readonly tasks: Entry[]
  /** State visits; only shown when the node ran no task. */
  readonly visits: Entry[]
  /** The first state of the node entered in each scope: its visits are the node's visits. */
  readonly primaryState: Map<string, string>
}

function scopeOf(path: string): string {
  const cut = path.lastIndexOf('/')
  return cut < 0 ? '' : path.slice(0, cut)
}

/**
 * Folds `events` (one execution's history in seq order) into node details.
 *
 * @example
 * nodeExecutionDetails('e1', await store.flows.events('e1'), { executionStatus: 'running' })
 * // [{ node_id: 'check', node_name: 'check', execution_id: 'e1', executions: [{ status: 'success', … }] }]
 */
export function nodeExecutionDetails(
  executionId: string,
  events: readonly FlowEvent[],
  options: NodeDetailOptions,
): NodeExecutionDetailView[] {
  const nodes = new Map<string, NodeAccumulator>()
  // The latest entry of each visit path and each task attempt: a redelivery after a crash
  // continues it; once it has ended, the same key again is a retry of the run (a new entry).
  const openVisits = new Map<string, Entry>()
  const openTasks = new Map<string, Entry>()
  const enteredInput = new Map<string, JsonValue | undefined>()
  const nodeOf = (e: FlowEvent): NodeAccumulator | undefined => {
    if (e.nodeId === '' && e.stateName === '') {
      return undefined
    }
    const id = e.nodeId !== '' ? e.nodeId : e.stateName
    let node = nodes.get(id)
    if (node === undefined) {
      node = {
        id,
        name: e.nodeName !== '' ? e.nodeName : id,
        tasks: [],
        visits: [],
        primaryState: new Map(),
      }
      nodes.set(id, node)
    }
    return node
  }
  for (const e of events) {
    const node = nodeOf(e)
    if (node === undefined) {
      continue
    }
    const p = payloadOf(e)
    switch (e.type) {
      case 'StateEntered': {
        enteredInput.set(e.path, p.input)
        const scope = scopeOf(e.path)
        const primary = node.primaryState.get(scope)
        if (primary === undefined) {
          node.primaryState.set(scope, e.stateName)
        }
        const open = openVisits.get(e.path)?.end === undefined && openVisits.has(e.path)
        if ((primary ?? e.stateName) === e.stateName && !open) {
          const visit: Entry = {
            status: 'running',
            input: p.input,
            output: undefined,
            begin: e.at,
            end: undefined,
            errorMessage: undefined,
            requestId: undefined,
            path: e.path,
          }
          openVisits.set(e.path, visit)
          node.visits.push(visit)
        }
        break
      }
      case 'StateExited':
      case 'StateFailed': {
        const visit = openVisits.get(e.path)
        if (visit !== undefined) {
          visit.end = e.at
          if (e.type === 'StateExited') {
            visit.status = 'success'
            visit.output = p.output
          } else {
            const error = asText(p.error) ?? 'States.Runtime'
            visit.status = failureStatus(error)
            visit.errorMessage = errorMessageOf(error, asText(p.cause))
          }
        }
        break
      }
      case 'TaskScheduled': {
        const key = attemptPathOf(e)
        const current = openTasks.get(key)
        if (current !== undefined && current.end === undefined) {
          break
        }
        const task: Entry = {
          status: 'running',
          input: p.input ?? p.payload ?? enteredInput.get(visitPathOf(e.path)),
          output: undefined,
          begin: e.at,
          end: undefined,
          errorMessage: undefined,
          requestId: e.requestId,
          path: key,
          ...(typeof p.resource === 'string' ? { functionUrn: p.resource } : {}),
        }
        openTasks.set(key, task)
        node.tasks.push(task)
        break
      }
      case 'TaskSucceeded':
      case 'TaskFailed':
      case 'CallbackReceived': {
        const task = openTasks.get(attemptPathOf(e))
        if (task === undefined) {
          break
        }
        task.end = e.at
        task.requestId = task.requestId ?? e.requestId
        const error = asText(p.error)
        if (e.type === 'TaskFailed' || error !== undefined || p.result === 'fail') {
          const name = error ?? 'States.TaskFailed'
          task.status = failureStatus(name)
          task.errorMessage = errorMessageOf(name, asText(p.cause))
        } else {
          task.status = 'success'
          task.output = p.output
        }
        break
      }
      case 'ExecutionStarted':
      case 'ExecutionRedriven':
      case 'TimerStarted':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionTimedOut':
      case 'ExecutionStopped':
        break
    }
  }
  // What was still open when the run ended was cut short by it: by its timeout, or stopped.
  const cutShort: ExecutionStatus = options.executionStatus === 'timeout' ? 'timeout' : 'cancel'
  const ended = options.executionStatus !== 'running'
  const view = (entry: Entry): NodeExecutionView => ({
    status: entry.status === 'running' && ended ? cutShort : entry.status,
    input: bounded(entry.input, options.maxDataChars),
    output: bounded(entry.output, options.maxDataChars),
    begin_time: entry.begin,
    end_time: entry.end,
    error_message: entry.errorMessage,
    request_id: entry.requestId,
    path: entry.path,
    ...(entry.functionUrn === undefined ? {} : { function_urn: entry.functionUrn }),
  })
  return [...nodes.values()].map((node) => ({
    node_id: node.id,
    node_name: node.name,
    execution_id: executionId,
    executions: (node.tasks.length > 0 ? node.tasks : node.visits).map(view),
  }))
}
