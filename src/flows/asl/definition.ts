/**
 * @module The engine's internal representation: Amazon States Language (ASL) as JSON, with a few
 * `Strato.*` extensions. Both input languages end here: ASL definitions as users send them, and
 * Huawei's v2 `WorkflowCreateBody`, which `flows/huawei` compiles to it. Everything the engine
 * runs passed `validateDefinition` first.
 *
 * Extensions (ASL has no equivalent; a definition written in plain ASL never needs them):
 * * `Strato.Node` on any state: the user-facing node the state belongs to (`{id, name}`), for
 *   node details. Absent: the state name is both. A Huawei node compiled to several IR states
 *   (an Operation with a sequential chain of actions) names the same node on each.
 * * `Strato.CompletionType` / `Strato.NumCompleted` on Parallel: Huawei's (Serverless Workflow
 *   0.8's) `allOf` (default) or `atLeast` N branches; with `atLeast`, the Parallel succeeds as soon
 *   as N branches succeeded (the others are stopped; their slots in the output array are null).
 * * `Strato.Callback: true` on a Task: the function is invoked asynchronously and the state then
 *   waits until `POST …/callback` completes it (Huawei's async call mode; like ASL's
 *   `.waitForTaskToken`, which is accepted too).
 */

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

export type QueryLanguage = 'JSONPath' | 'JSONata'

/** The user-facing node a state belongs to (Huawei's state id and name). */
export interface NodeRef {
  readonly id: string
  readonly name: string
}

export interface Retrier {
  readonly ErrorEquals: readonly string[]
  readonly IntervalSeconds?: number
  readonly MaxAttempts?: number
  readonly BackoffRate?: number
  readonly MaxDelaySeconds?: number
  readonly JitterStrategy?: 'FULL' | 'NONE'
  readonly Comment?: string
}

export interface Catcher {
  readonly ErrorEquals: readonly string[]
  readonly Next: string
  readonly ResultPath?: string | null
  readonly Output?: JsonValue
  readonly Assign?: JsonObject
  readonly Comment?: string
}

/** Fields every state may carry (which ones a type allows is `validateDefinition`'s job). */
export interface StateBase {
  readonly Type: 'Pass' | 'Task' | 'Choice' | 'Wait' | 'Succeed' | 'Fail' | 'Parallel' | 'Map'
  readonly Comment?: string
  readonly QueryLanguage?: QueryLanguage
  readonly Next?: string
  readonly End?: boolean
  readonly InputPath?: string | null
  readonly OutputPath?: string | null
  readonly Parameters?: JsonValue
  readonly ResultSelector?: JsonObject
  readonly ResultPath?: string | null
  readonly Arguments?: JsonValue
  readonly Output?: JsonValue
  readonly Assign?: JsonObject
  readonly Retry?: readonly Retrier[]
  readonly Catch?: readonly Catcher[]
  readonly 'Strato.Node'?: NodeRef
  /** Any other field, kept so validation can name what it does not know. */
  readonly [field: string]: unknown
}

/** A state machine (also the shape of a Parallel branch and a Map's ItemProcessor). */
export interface AslDefinition {
  readonly StartAt: string
  readonly States: { readonly [name: string]: StateBase }
  readonly Comment?: string
  readonly Version?: string
  readonly TimeoutSeconds?: number
  readonly QueryLanguage?: QueryLanguage
}

/** How an execution ended (ASL's terms; the API maps them to Huawei's statuses). */
export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: JsonValue }
  | {
      readonly status: 'FAILED'
      readonly error: string
      readonly cause?: string
      /** The state whose failure ended the run (for node details and `errors[].node_id`). */
      readonly failedState?: string
    }
