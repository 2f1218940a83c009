/**
 * @module WorkflowModel → ASL IR (JSONPath mode). Each Huawei state becomes one ASL state named by
 * its id, plus helper states named `<id>:<role>` (ids cannot hold `:`), all carrying the node's
 * `Strato.Node`, so node details group them under the Huawei node.
 *
 * * Operation → a Task per action: a chain `<id>` → `<id>:a2` → … (`sequential`: each action's
 *   output is the next action's input; the node's output is the last one's), or a Parallel with
 *   one single-Task branch per action (`parallel`: all get the node input; the output is the array
 *   of their outputs, in action order).
 * * Sleep → Wait (the duration rounded up to whole seconds); End → Succeed; Switch → Choice (+ `<id>:end` Succeed for `end: true` branches).
 * * Parallel → Parallel (`Strato.CompletionType`/`NumCompleted`); each branch a sub-machine.
 * * Foreach → Map; its processor starts with `<id>:item`, a Pass that merges the item into a copy
 *   of the node input under `iteration_param`.
 * * on_errors (see `error-handling.ts`) wrap the node's work states.
 */
import type { AslDefinition, JsonObject, NodeRef, StateBase } from '../asl/definition.js'
import { conditionToChoiceRule } from './condition-expression.js'
import { CONSTANTS_VARIABLE } from './function-arguments.js'
import { compileErrorHandling } from './error-handling.js'
import { WRAPPED_INPUT, WRAPPED_RESULT } from './placement.js'
import type { Placement } from './placement.js'
import type {
  ActionGroup,
  Body,
  NextStep,
  ScopeModel,
  StateModel,
  WorkflowModel,
} from './workflow-model.js'

export type AslStates = Record<string, StateBase>

/** `path` evaluated inside the value at `base`: `prefixPath('$.value', '$.a')` = `$.value.a`. */
export function prefixPath(base: string, path: string | undefined): string {
  if (path === undefined || path === '$') {
    return base
  }
  return base + path.slice(1)
}

function flowOf(next: NextStep): { Next: string } | { End: true } {
  return next.kind === 'end' ? { End: true } : { Next: next.target }
}

/** Drops undefined fields so the IR stays plain JSON. */
function state(fields: Record<string, unknown>): StateBase {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) {
      out[key] = value
    }
  }
  return out as unknown as StateBase
}

/** InputPath, ResultPath and OutputPath of a work state whose result is the node's output. */
function resultIo(placement: Placement): Record<string, string | undefined> {
  return placement.wrapped
    ? {
        InputPath: WRAPPED_INPUT,
        ResultPath: WRAPPED_RESULT,
        OutputPath: prefixPath(WRAPPED_RESULT, placement.filter.output),
      }
    : { InputPath: placement.filter.input, OutputPath: placement.filter.output }
}

export function compileWorkflow(model: WorkflowModel): AslDefinition {
  const definition = compileScope(model.scope)
  if (!model.usesConstants) {
    return definition
  }
  const start = model.scope.states.find((s) => s.id === model.scope.start)
  const name = `${model.scope.start}:constants`
  const constants = state({
    Type: 'Pass',
    Assign: { [CONSTANTS_VARIABLE]: model.constants },
    Next: definition.StartAt,
    'Strato.Node': { id: model.scope.start, name: start?.name ?? model.scope.start },
  })
  return { StartAt: name, States: { [name]: constants, ...definition.States } }
}

export function compileScope(scope: ScopeModel): AslDefinition {
  const states: AslStates = {}
  for (const model of scope.states) {
    Object.assign(states, compileState(model))
  }
  return { StartAt: scope.start, States: states }
}

function compileState(model: StateModel): AslStates {
  const node: NodeRef = { id: model.id, name: model.name }
  const io = { InputPath: model.filter.input, OutputPath: model.filter.output }
  switch (model.type) {
    case 'End':
      return { [model.id]: state({ Type: 'Succeed', ...io, 'Strato.Node': node }) }
    case 'Sleep':
      return {
        [model.id]: state({
          Type: 'Wait',
          // ASL's Wait (and so the engine) counts whole seconds; Huawei allows down to 1 ms.
          Seconds: Math.ceil(model.seconds),
          ...io,
          ...flowOf(model.next),
          'Strato.Node': node,
        }),
      }
    case 'Switch':
      return compileSwitch(model, node)
    case 'Operation':
    case 'Parallel':
    case 'Foreach': {
      const work = (placement: Placement): AslStates => compileWork(model, node, placement)
      if (model.onErrors.length === 0) {
        return work({
          name: model.id,
          wrapped: false,
          filter: model.filter,
          flow: flowOf(model.next),
        })
      }
      return compileErrorHandling(model, node, flowOf(model.next), work)
    }
  }
}

function compileSwitch(model: Extract<StateModel, { type: 'Switch' }>, node: NodeRef): AslStates {
  const endName = `${model.id}:end`
  const target = (next: NextStep): string => (next.kind === 'end' ? endName : next.target)
  const states: AslStates = {
    [model.id]: state({
      Type: 'Choice',
      InputPath: model.filter.input,
      OutputPath: model.filter.output,
      Choices: model.conditions.map((c) => ({
        ...conditionToChoiceRule(c.condition),
        Next: target(c.next),
      })),
      Default: target(model.otherwise),
      'Strato.Node': node,
    }),
  }
  const ends = [...model.conditions.map((c) => c.next), model.otherwise].some(
    (n) => n.kind === 'end',
  )
  if (ends) {
    states[endName] = state({ Type: 'Succeed', 'Strato.Node': node })
  }
  return states
}

/** The states doing a node's work (its functions, branches or iterations), placed as asked. */
function compileWork(
  model: Extract<StateModel, { type: 'Operation' | 'Parallel' | 'Foreach' }>,
  node: NodeRef,
  placement: Placement,
): AslStates {
  const common = {
    ...resultIo(placement),
    Catch: placement.catch,
    ...placement.flow,
    'Strato.Node': node,
  }
  switch (model.type) {
    case 'Operation':
      return compileGroup(model.group, node, model.id, placement)
    case 'Parallel':
      return {
        [placement.name]: state({
          Type: 'Parallel',
          Branches: model.branches.map((b, i) => compileBody(b, node, `${model.id}:b${i + 1}`)),
          'Strato.CompletionType': model.completion.type === 'atLeast' ? 'atLeast' : undefined,
          'Strato.NumCompleted':
            model.completion.type === 'atLeast' ? model.completion.count : undefined,
          ...common,
        }),
      }
    case 'Foreach':
      return {
        [placement.name]: state({
          Type: 'Map',
          ItemsPath: model.inputCollection,
          ...foreachItems(model, node),
          MaxConcurrency: model.maxConcurrency,
          ...common,
          ...(model.outputCollection === undefined
            ? {}
            : placement.wrapped
              ? {
                  ResultPath: prefixPath(WRAPPED_INPUT, model.outputCollection),
                  OutputPath: prefixPath(WRAPPED_INPUT, placement.filter.output),
                }
              : { ResultPath: model.outputCollection }),
        }),
      }
  }
}

/**
 * ItemSelector and ItemProcessor of a Foreach. An iteration's data is a copy of the node input
 * with the item under `iterationParam`: the selector passes both, and the processor's first state
 * `<id>:item` merges them. When the node input is the array itself (`input_collection: "$"`),
 * there is nothing to copy: the iteration's data is `{<iterationParam>: item}`.
 */
function foreachItems(
  model: Extract<StateModel, { type: 'Foreach' }>,
  node: NodeRef,
): { ItemSelector: JsonObject; ItemProcessor: AslDefinition } {
  const item = { [`${model.iterationParam}.$`]: '$$.Map.Item.Value' }
  const inner = compileBody(model.body, node, model.id)
  if (model.inputCollection === '$') {
    return { ItemSelector: item, ItemProcessor: inner }
  }
  const name = `${model.id}:item`
  const merge = state({
    Type: 'Pass',
    Parameters: { 'value.$': 'States.JsonMerge($.input, $.item, false)' },
    OutputPath: '$.value',
    Next: inner.StartAt,
    'Strato.Node': node,
  })
  return {
    ItemSelector: { 'input.$': '$', item },
    ItemProcessor: { StartAt: name, States: { [name]: merge, ...inner.States } },
  }
}

/** A Parallel branch or Foreach body as a sub-machine; `prefix` names generated states. */
function compileBody(body: Body, node: NodeRef, prefix: string): AslDefinition {
  if (body.kind === 'states') {
    return compileScope(body.scope)
  }
  const name = `${prefix}:a1`
  return {
    StartAt: name,
    States: compileGroup(body.group, node, prefix, {
      name,
      wrapped: false,
      filter: {},
      flow: { End: true },
    }),
  }
}

/**
 * The Tasks of an action group. Sequential: a chain; the first state is `placement.name`, the
 * others `<prefix>:a2`…; the first reads the node input, the last gives the output and moves on.
 * Parallel: one Parallel state with a single-Task branch per action.
 */
function compileGroup(
  group: ActionGroup,
  node: NodeRef,
  prefix: string,
  placement: Placement,
): AslStates {
  const task = (i: number): Record<string, unknown> => {
    const action = group.actions[i]
    if (action === undefined) {
      throw new Error(`no action ${i}`)
    }
    return {
      Type: 'Task',
      Resource: action.functionUrn,
      Parameters: action.parameters,
      TimeoutSeconds: group.timeoutSeconds,
      'Strato.Callback': action.callback ? true : undefined,
      'Strato.Node': node,
    }
  }
  if (group.mode === 'parallel' && group.actions.length > 1) {
    const branches = group.actions.map((_, i) => {
      const name = `${prefix}:p${i + 1}`
      return { StartAt: name, States: { [name]: state({ ...task(i), End: true }) } }
    })
    return {
      [placement.name]: state({
        Type: 'Parallel',
        Branches: branches,
        ...resultIo(placement),
        Catch: placement.catch,
        ...placement.flow,
        'Strato.Node': node,
      }),
    }
  }
  // Wrapped, the running value sits at $.value, so that a Catch still sees the wrapper.
  const io = resultIo(placement)
  const last = group.actions.length - 1
  const states: AslStates = {}
  const nameOf = (i: number): string => (i === 0 ? placement.name : `${prefix}:a${i + 1}`)
  for (let i = 0; i <= last; i++) {
    states[nameOf(i)] = state({
      ...task(i),
      InputPath: i === 0 ? io['InputPath'] : io['ResultPath'],
      ResultPath: io['ResultPath'],
      OutputPath: i === last ? io['OutputPath'] : undefined,
      Catch: placement.catch,
      ...(i === last ? placement.flow : { Next: nameOf(i + 1) }),
    })
  }
  return states
}
