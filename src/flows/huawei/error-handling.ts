/**
 * @module `on_errors` + `retries` compiled to plain ASL (flows.md §1.2, issue 17 §2).
 *
 * Semantics: a failed call is turned into the error data `{errorCode: 500, errorMessage,
 * errorType, …}`: the durable host's error Cause is JSON text with errorMessage and errorType
 * (errorType defaults to the error name); a Cause that is not a JSON object is the message. The
 * on_errors entries are tried in order; the first whose expression holds on that data decides:
 * with a retry_ref and retries left, the node runs again after `delay` s (each entry counts its
 * own retries, from 0 on every entry into the node); otherwise the flow goes to the entry's
 * transition with the error data as input, or, without a transition, fails with the function's
 * error. No entry holds → the flow fails with the function's error. Engine errors (`States.*`
 * other than `States.Timeout`) are not function errors: they fail the flow as they are.
 *
 * States for node `N` (data in brackets):
 *   N            Pass    node input → [{input, attempts: {e0: 0, …}}]
 *   N:call …     work    reads $.input; result at $.value; Catch States.ALL → $.raw, N:error
 *   N:error      Choice  engine error → N:rethrow; JSON Cause → N:error-data; else N:error-text
 *   N:error-data Pass    [{input, attempts, raw, error: <error data>}]   (N:error-text alike)
 *   N:match      Choice  entry k's expression on $.error → N:retry<k> | N:to<k> | N:rethrow
 *   N:retry<k>   Choice  attempts.e<k> < max_attempts → N:count<k>, else N:to<k> | N:rethrow
 *   N:count<k>   Pass    attempts.e<k> + 1 → N:wait<k>
 *   N:wait<k>    Wait    delay → N:call
 *   N:to<k>      Pass    OutputPath $.error → the entry's transition
 *   N:rethrow    Choice  → N:fail (the original Error and Cause), N:fail-bare (one without Cause)
 */
import type { JsonObject, NodeRef } from '../asl/definition.js'
import { conditionToChoiceRule } from './condition-expression.js'
import type { AslStates } from './compile-states.js'
import { WRAPPED_INPUT } from './placement.js'
import type { Placement } from './placement.js'
import type { ErrorHandler, StateModel } from './workflow-model.js'

type WorkModel = Extract<StateModel, { type: 'Operation' | 'Parallel' | 'Foreach' }>

/**
 * The error data from a JSON Cause: `{errorType: <Error>}`, overlaid with the Cause's fields,
 * overlaid with `errorCode: 500` (intrinsic string literals escape their braces).
 */
const ERROR_FROM_JSON_CAUSE =
  'States.JsonMerge(States.JsonMerge(' +
  `States.StringToJson(States.Format('\\{"errorType": {}\\}', States.JsonToString($.raw.Error))), ` +
  `States.StringToJson($.raw.Cause), false), States.StringToJson('\\{"errorCode": 500\\}'), false)`

/** A `States.*` error other than a timeout: the engine's, not the function's. */
const ENGINE_ERROR: JsonObject[] = [
  { Variable: '$.raw.Error', StringMatches: 'States.*' },
  { Not: { Variable: '$.raw.Error', StringEquals: 'States.Timeout' } },
]

export function compileErrorHandling(
  model: WorkModel,
  node: NodeRef,
  flow: { Next: string } | { End: true },
  work: (placement: Placement) => AslStates,
): AslStates {
  const id = model.id
  const name = (role: string): string => `${id}:${role}`
  const counted = model.onErrors.flatMap((h, k) => (h.retry === undefined ? [] : [k]))
  const attempts = (bump?: number): JsonObject =>
    Object.fromEntries(
      counted.map((k) =>
        k === bump
          ? [`e${k}.$`, `States.MathAdd($.attempts.e${k}, 1)`]
          : [`e${k}.$`, `$.attempts.e${k}`],
      ),
    )
  const mark = { 'Strato.Node': node }
  const carried = { 'input.$': '$.input', 'attempts.$': '$.attempts', 'raw.$': '$.raw' }

  const states: AslStates = {
    [id]: {
      Type: 'Pass',
      ...(model.filter.input === undefined ? {} : { InputPath: model.filter.input }),
      Parameters: {
        [`${WRAPPED_INPUT.slice(2)}.$`]: '$',
        attempts: Object.fromEntries(counted.map((k) => [`e${k}`, 0])),
      },
      Next: name('call'),
      ...mark,
    },
    ...work({
      name: name('call'),
      wrapped: true,
      filter: model.filter,
      flow,
      catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.raw', Next: name('error') }],
    }),
    [name('error')]: {
      Type: 'Choice',
      Choices: [
        { And: ENGINE_ERROR, Next: name('rethrow') },
        {
          And: [
            { Variable: '$.raw.Cause', IsPresent: true },
            { Variable: '$.raw.Cause', StringMatches: '{*}' },
          ],
          Next: name('error-data'),
        },
      ],
      Default: name('error-text'),
      ...mark,
    },
    [name('error-data')]: {
      Type: 'Pass',
      Parameters: { ...carried, 'error.$': ERROR_FROM_JSON_CAUSE },
      Next: name('match'),
      ...mark,
    },
    [name('error-text')]: {
      Type: 'Pass',
      Parameters: {
        ...carried,
        error: {
          errorCode: 500,
          'errorMessage.$': "Strato.FirstPresent($.raw.Cause, '')",
          'errorType.$': '$.raw.Error',
        },
      },
      Next: name('match'),
      ...mark,
    },
    [name('match')]: {
      Type: 'Choice',
      Choices: model.onErrors.map((handler, k) => ({
        ...conditionToChoiceRule(handler.condition, '$.error'),
        Next: handler.retry === undefined ? afterRetries(handler, k) : name(`retry${k}`),
      })),
      Default: name('rethrow'),
      ...mark,
    },
    [name('rethrow')]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.raw.Cause', IsPresent: true, Next: name('fail') }],
      Default: name('fail-bare'),
      ...mark,
    },
    [name('fail')]: {
      Type: 'Fail',
      ErrorPath: '$.raw.Error',
      CausePath: '$.raw.Cause',
      ...mark,
    },
    [name('fail-bare')]: { Type: 'Fail', ErrorPath: '$.raw.Error', ...mark },
  }

  function afterRetries(handler: ErrorHandler, k: number): string {
    return handler.transition === undefined ? name('rethrow') : name(`to${k}`)
  }

  model.onErrors.forEach((handler, k) => {
    if (handler.transition !== undefined) {
      states[name(`to${k}`)] = {
        Type: 'Pass',
        OutputPath: '$.error',
        Next: handler.transition,
        ...mark,
      }
    }
    if (handler.retry === undefined) {
      return
    }
    states[name(`retry${k}`)] = {
      Type: 'Choice',
      Choices: [
        {
          Variable: `$.attempts.e${k}`,
          NumericLessThan: handler.retry.maxAttempts,
          Next: name(`count${k}`),
        },
      ],
      Default: afterRetries(handler, k),
      ...mark,
    }
    states[name(`count${k}`)] = {
      Type: 'Pass',
      Parameters: { 'input.$': '$.input', attempts: attempts(k) },
      Next: name(`wait${k}`),
      ...mark,
    }
    states[name(`wait${k}`)] = {
      Type: 'Wait',
      Seconds: handler.retry.delaySeconds,
      Next: name('call'),
      ...mark,
    }
  })
  return states
}
