/**
 * @module What every state visit shares: the run (host, seed, the emulated history event ids),
 * the scope it runs in (a machine, a Parallel branch or a Map iteration, each with its own visit
 * counters and variables), and the visit itself (its effect path, context object, random stream).
 */
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue, NodeRef, QueryLanguage, StateBase } from './definition.js'
import type { ExecutionHost, RunRequest, StateEvent } from './host.js'
import type { PathScope } from './json-path.js'
import { seededRandom } from './seeded-random.js'

/** The part of a definition a scope runs: a machine, a branch or an item processor. */
export interface Machine {
  readonly StartAt: string
  readonly States: { readonly [name: string]: StateBase }
  readonly QueryLanguage?: QueryLanguage
}

export interface RunContext {
  readonly request: RunRequest
  readonly host: ExecutionHost
  /**
   * AWS numbers its history events and quotes the entered event's id in runtime error causes;
   * this counter follows AWS's event sequence closely enough for sequential flows.
   */
  nextEventId(count?: number): number
  /** State visits since the run last gave the event loop a turn (see runScope). */
  visitsSinceYield: number
}

/** Variables of one scope; an inner scope reads its outer ones but assigns only its own. */
export class Variables {
  private readonly own = new Map<string, JsonValue>()
  constructor(private readonly outer?: Variables) {}

  get(name: string): JsonValue | undefined {
    return this.own.has(name) ? this.own.get(name) : this.outer?.get(name)
  }

  assign(values: Readonly<Record<string, JsonValue>>): void {
    for (const [name, value] of Object.entries(values)) {
      this.own.set(name, value)
    }
  }
}

export interface MapItem {
  readonly index: number
  readonly value: JsonValue
}

export interface Scope {
  readonly run: RunContext
  readonly machine: Machine
  /** The query language a state without its own uses. */
  readonly language: QueryLanguage
  /** Effect path prefix, '' at the top, e.g. `Fan#1/b0/`. */
  readonly prefix: string
  readonly visits: Map<string, number>
  readonly variables: Variables
  /** Set only while evaluating a Map's ItemSelector (`$$.Map.Item`). */
  readonly mapItem?: MapItem
  readonly signal: AbortSignal
}

/** The error that ends a scope: the state that failed and its ASL error. */
export class StateFailure extends Error {
  constructor(
    readonly error: string,
    readonly errorCause: string | undefined,
    readonly stateName: string,
  ) {
    super(errorCause === undefined ? error : `${error}: ${errorCause}`)
    this.name = 'StateFailure'
  }
}

/** Thrown out of a scope when the run was stopped (host signal, timeout, a sibling failed). */
export class Stopped extends Error {
  constructor() {
    super('stopped')
    this.name = 'Stopped'
  }
}

export class Visit {
  readonly path: string
  readonly event: StateEvent
  readonly random: () => number
  readonly language: QueryLanguage
  enteredAt = 0
  enteredEventId = 0
  retryCount = 0
  taskToken: string | undefined

  constructor(
    readonly scope: Scope,
    readonly name: string,
    readonly state: StateBase,
    visitNumber: number,
  ) {
    this.path = `${scope.prefix}${name}#${visitNumber}`
    const node: NodeRef = state['Strato.Node'] ?? { id: name, name }
    this.event = { path: this.path, stateName: name, stateType: state.Type, node }
    this.random = seededRandom(scope.run.request.seed, this.path)
    this.language = state.QueryLanguage ?? scope.language
  }

  /** The `$$` context object as this visit sees it (`mapItem`: in a Map's ItemSelector). */
  context(mapItem: MapItem | undefined = this.scope.mapItem): JsonObject {
    const execution = this.scope.run.request.context
    const state: JsonObject = {
      Name: this.name,
      EnteredTime: new Date(this.enteredAt).toISOString(),
    }
    if (this.state.Type === 'Task') {
      state['RetryCount'] = this.retryCount
    }
    const context: JsonObject = {
      Execution: {
        Id: execution.executionId,
        Input: this.scope.run.request.input,
        Name: execution.executionName,
        RoleArn: execution.roleArn ?? null,
        StartTime: execution.startTime,
        RedriveCount: execution.redriveCount,
      },
      StateMachine: { Id: execution.stateMachineId, Name: execution.stateMachineName },
      State: state,
    }
    if (this.taskToken !== undefined) {
      context['Task'] = { Token: this.taskToken }
    }
    if (mapItem !== undefined) {
      context['Map'] = { Item: { Index: mapItem.index, Value: mapItem.value } }
    }
    return context
  }

  pathScope(mapItem?: MapItem): PathScope {
    return {
      context: this.context(mapItem),
      variable: (name) => this.scope.variables.get(name),
      random: this.random,
      // The entered time comes from the host (recorded on replay): `$now()` stays deterministic.
      now: this.enteredAt,
    }
  }

  /** JSONata's `$states` for this visit. */
  states(input: JsonValue, extra: JsonObject = {}, mapItem?: MapItem): JsonObject {
    return { input, context: this.context(mapItem), ...extra }
  }

  /**
   * Runtime errors carry AWS's prefix naming the state and its entered event; a task's or a user
   * Fail's error is passed on as it is.
   */
  failure(error: unknown): StateFailure | Stopped | HostError {
    if (error instanceof StateFailure || error instanceof Stopped || error instanceof HostError) {
      return error
    }
    if (error instanceof AslError) {
      const prefixed = PREFIXED_ERRORS.has(error.error) && error.cause !== undefined
      const cause = prefixed
        ? `An error occurred while executing the state '${this.name}' (entered at the event id #${this.enteredEventId}). ${error.cause ?? ''}`
        : error.cause
      return new StateFailure(error.error, cause, this.name)
    }
    const message = error instanceof Error ? error.message : String(error)
    return new StateFailure('States.Runtime', message, this.name)
  }
}

const PREFIXED_ERRORS = new Set([
  'States.Runtime',
  'States.QueryEvaluationError',
  'States.IntrinsicFailure',
])

/**
 * An error the host raised (a lost lease, a store failure): not the flow's failure, so it passes
 * through Retry/Catch and out of `runStateMachine` as the original error.
 */
export class HostError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original))
    this.name = 'HostError'
  }
}

/**
 * Awaits a host call: rejects with Stopped as soon as `signal` aborts, and wraps the host's own
 * errors as HostError.
 */
export function hostCall<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted === true) {
    work.catch(() => undefined)
    return Promise.reject(new Stopped())
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Stopped())
    signal?.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort)
        reject(new HostError(error))
      },
    )
  })
}
