/**
 * @module The Huawei v2 workflow after validation: what `read-workflow-body.ts` makes of a
 * `WorkflowCreateBody` and `compile-states.ts` turns into the ASL IR. Defaults are applied,
 * references resolved (function URNs, retry policies) and expressions parsed, so the compiler
 * never meets an invalid value.
 */
import type { JsonObject } from '../asl/definition.js'
import type { Condition } from './condition-expression.js'

/** Where a state goes next: one of its scope's state ids, or the end of its (sub-)flow. */
export type NextStep = { readonly kind: 'end' } | { readonly kind: 'to'; readonly target: string }

export interface DataFilter {
  /** InputPath; undefined = `$`. */
  readonly input?: string
  /** OutputPath; undefined = `$`. */
  readonly output?: string
}

export interface ActionModel {
  readonly functionUrn: string
  /** `invoke_mode: "async"`: invoked asynchronously, completed by `POST …/callback`. */
  readonly callback: boolean
  /** The compiled `Parameters`; undefined = the function gets the node input. */
  readonly parameters?: JsonObject
}

export interface RetryPolicy {
  readonly delaySeconds: number
  readonly maxAttempts: number
}

export interface ErrorHandler {
  readonly condition: Condition
  readonly retry?: RetryPolicy
  /** undefined: once retries are exhausted the flow fails with the function's error. */
  readonly transition?: string
}

/** Actions of one node: a chain (`sequential`) or all at once with an array as output. */
export interface ActionGroup {
  readonly mode: 'sequential' | 'parallel'
  readonly actions: readonly ActionModel[]
  /** Operation `timeout` (Strato extension), seconds, per function call. */
  readonly timeoutSeconds?: number
}

/** A Parallel branch or a Foreach body: a chain of actions, or a sub-flow of states. */
export type Body =
  | { readonly kind: 'actions'; readonly group: ActionGroup }
  | { readonly kind: 'states'; readonly scope: ScopeModel }

interface StateCommon {
  readonly id: string
  readonly name: string
  readonly filter: DataFilter
}

export interface OperationModel extends StateCommon {
  readonly type: 'Operation'
  readonly group: ActionGroup
  readonly onErrors: readonly ErrorHandler[]
  readonly next: NextStep
}

export interface SleepModel extends StateCommon {
  readonly type: 'Sleep'
  readonly seconds: number
  readonly next: NextStep
}

export interface EndModel extends StateCommon {
  readonly type: 'End'
}

export interface SwitchModel extends StateCommon {
  readonly type: 'Switch'
  readonly conditions: readonly { readonly condition: Condition; readonly next: NextStep }[]
  readonly otherwise: NextStep
}

export interface ParallelModel extends StateCommon {
  readonly type: 'Parallel'
  readonly branches: readonly Body[]
  readonly completion:
    { readonly type: 'allOf' } | { readonly type: 'atLeast'; readonly count: number }
  readonly onErrors: readonly ErrorHandler[]
  readonly next: NextStep
}

export interface ForeachModel extends StateCommon {
  readonly type: 'Foreach'
  /** ItemsPath. */
  readonly inputCollection: string
  /** The key each iteration's item is put under, in a copy of the node input. */
  readonly iterationParam: string
  /** ResultPath of the array of iteration outputs; undefined = the array is the output. */
  readonly outputCollection?: string
  /** 0 = no limit. */
  readonly maxConcurrency: number
  readonly body: Body
  readonly onErrors: readonly ErrorHandler[]
  readonly next: NextStep
}

export type StateModel =
  OperationModel | SleepModel | EndModel | SwitchModel | ParallelModel | ForeachModel

/** The flow, or a sub-flow (Parallel branch, Foreach body): transitions stay inside a scope. */
export interface ScopeModel {
  readonly start: string
  /** Only the states reachable from `start`, in body order. */
  readonly states: readonly StateModel[]
}

export interface WorkflowModel {
  readonly name: string
  readonly description: string
  readonly mode: 'NORMAL' | 'EXPRESS'
  readonly enableStreamResponse: boolean
  readonly constants: JsonObject
  readonly usesConstants: boolean
  readonly functionUrns: readonly string[]
  readonly scope: ScopeModel
}
