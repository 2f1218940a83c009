/**
 * @module Validation of Huawei's v2 `WorkflowCreateBody` (functiongraph-api.md §8.2, flows.md
 * §1.1–1.3) into a WorkflowModel. The public schema's states (`Operation`, `Sleep`, `End`) are
 * accepted as Huawei documents them; the console's richer nodes as Serverless Workflow 0.8 states
 * with snake_case keys (`Switch`, `Parallel`, `Foreach`). Limits are Huawei's. Every error is a
 * FLOW_INVALID_DEFINITION naming the state and the field.
 */
import { ArgumentError, compileArguments } from './function-arguments.js'
import { ExpressionError, parseCondition } from './condition-expression.js'
import type { Condition } from './condition-expression.js'
import { Fields, invalid, isObject } from './body-fields.js'
import type {
  ActionGroup,
  ActionModel,
  Body,
  ErrorHandler,
  NextStep,
  RetryPolicy,
  ScopeModel,
  StateModel,
  WorkflowModel,
} from './workflow-model.js'
import { checkScopeGraph } from './scope-graph.js'

const STATE_TYPES = ['Operation', 'Sleep', 'End', 'Switch', 'Parallel', 'Foreach'] as const
/** The function timeout's upper bound (3 days) also bounds an Operation's `timeout`. */
const MAX_TIMEOUT_SECONDS = 259200

/** Reads and checks the body fields common to both languages: name, description, mode. */
export function readWorkflowHeader(body: Fields): {
  name: string
  description: string
  mode: 'NORMAL' | 'EXPRESS'
  enableStreamResponse: boolean
} {
  const name = body.name('name', 64)
  const description = body.string('description', { max: 512 }) ?? ''
  const mode = body.oneOf('mode', ['NORMAL', 'EXPRESS'], 'NORMAL')
  const enableStreamResponse = body.boolean('enable_stream_response', false)
  const express = body.object('express_config')
  express?.oneOf('log_level', ['ALL', 'ERROR', 'NONE'], 'NONE')
  body.string('enterprise_project_id', { max: 64 })
  return { name, description, mode, enableStreamResponse }
}

export function readWorkflowBody(raw: unknown): WorkflowModel {
  if (!isObject(raw)) {
    invalid('The workflow body must be a JSON object')
  }
  const body = new Fields(raw, '')
  const header = readWorkflowHeader(body)
  const start = body.requiredString('start', 64)
  const constants = body.json('constants', { required: true }) ?? {}
  checkConstantKeys(constants, 'constants')

  const functions = new Map<string, string>()
  for (const fn of body.objects('functions', { required: true, max: 100 })) {
    const name = fn.name('name', 256)
    if (functions.has(name)) {
      fn.fail('name', `"${name}" is used by another function`)
    }
    const urn = fn.requiredString('operation', 512)
    if (!urn.startsWith('urn:fss:')) {
      fn.fail('operation', `"${urn}" is not a function URN`)
    }
    fn.json('metadata')
    functions.set(name, urn)
  }

  const retries = new Map<string, RetryPolicy>()
  for (const retry of body.objects('retries', { required: true, max: 200 })) {
    const name = retry.name('name', 256)
    if (retries.has(name)) {
      retry.fail('name', `"${name}" is used by another retry policy`)
    }
    retries.set(name, {
      delaySeconds: retry.number('delay', { min: 1, max: 30, integer: true, fallback: 1 }) ?? 1,
      maxAttempts:
        retry.number('max_attempts', { min: 1, max: 8, integer: true, fallback: 3 }) ?? 3,
    })
  }

  body.objects('triggers', { max: 200 }).forEach((trigger) => {
    trigger.oneOf('trigger_type', ['FLOWTIMER', 'SMN', 'APIG', 'APIG_DE', 'OBS'], 'FLOWTIMER')
  })

  const reader = new StateReader(functions, retries)
  const states = body.array('states', { required: true, min: 1, max: 100 })
  const scope = reader.scope(states, start, body, 'states', 'start', false)
  return {
    ...header,
    constants,
    usesConstants: reader.usesConstants,
    functionUrns: [...reader.calledUrns],
    scope,
  }
}

/** Constants are assigned as an ASL payload template, where a key ending in `.$` is a path. */
function checkConstantKeys(value: unknown, at: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkConstantKeys(item, `${at}[${i}]`))
  }
  if (!isObject(value)) {
    return
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.endsWith('.$')) {
      invalid(`${at}.${key}: a constant's key must not end with ".$"`)
    }
    checkConstantKeys(item, `${at}.${key}`)
  }
}

class StateReader {
  usesConstants = false
  readonly calledUrns = new Set<string>()
  private readonly ids = new Set<string>()

  constructor(
    private readonly functions: ReadonlyMap<string, string>,
    private readonly retries: ReadonlyMap<string, RetryPolicy>,
  ) {}

  /** Reads a list of states (the flow's or a sub-flow's) and checks its transition graph. */
  scope(
    list: readonly unknown[],
    start: string,
    owner: Fields,
    listField: string,
    startField: string,
    inForeach: boolean,
  ): ScopeModel {
    const states = list.map((entry, i) => {
      if (!isObject(entry)) {
        owner.fail(`${listField}[${i}]`, 'must be an object')
      }
      const id = new Fields(entry, '').data['id']
      if (typeof id !== 'string' || id.length === 0) {
        owner.fail(`${listField}[${i}].id`, 'is required')
      }
      return this.state(new Fields(entry, `state "${id}"`), inForeach)
    })
    const byId = new Map(states.map((s) => [s.id, s]))
    if (!byId.has(start)) {
      owner.fail(startField, `"${start}" is not a state id of ${listField}`)
    }
    const reachable = checkScopeGraph(states, start, owner.where !== '')
    return { start, states: states.filter((s) => reachable.has(s.id)) }
  }

  private state(f: Fields, inForeach: boolean): StateModel {
    const id = f.name('id', 64)
    if (this.ids.has(id)) {
      f.fail('id', `"${id}" is used by another state`)
    }
    this.ids.add(id)
    const name = f.name('name', 256)
    const type = f.data['type']
    if (typeof type !== 'string' || !(STATE_TYPES as readonly string[]).includes(type)) {
      f.fail('type', `must be one of ${STATE_TYPES.join(', ')}`)
    }
    const filterFields = f.object('state_data_filter')
    const filter = { input: filterFields?.path('input'), output: filterFields?.path('output') }
    const common = { id, name, filter }
    if (type === 'End' || type === 'Sleep' || type === 'Switch') {
      // Huawei's own bodies send `actions: []` on these states; anything more would be ignored.
      if (f.array('actions', { max: 10 }).length > 0) {
        f.fail('actions', `must be empty in a ${type} state`)
      }
      if (f.array('on_errors', { max: 200 }).length > 0) {
        f.fail('on_errors', `is allowed on Operation, Parallel and Foreach states, not on ${type}`)
      }
    }
    switch (type as (typeof STATE_TYPES)[number]) {
      case 'End':
        if (f.string('transition')) {
          f.fail('transition', 'must be empty in an End state')
        }
        return { ...common, type: 'End' }
      case 'Sleep': {
        const seconds = f.number('duration', { min: 0.001, max: 86400 })
        if (seconds === undefined) {
          f.fail('duration', 'is required')
        }
        return { ...common, type: 'Sleep', seconds, next: this.next(f) }
      }
      case 'Switch':
        return { ...common, type: 'Switch', ...this.switchConditions(f) }
      case 'Operation': {
        const timeoutSeconds = f.number('timeout', {
          min: 1,
          max: MAX_TIMEOUT_SECONDS,
          integer: true,
        })
        const actions = f.objects('actions', { min: 1, max: 10 })
        const mode = f.oneOf('action_mode', ['sequential', 'parallel'], 'sequential')
        const group = this.group(actions, mode, timeoutSeconds, inForeach)
        return { ...common, type: 'Operation', group, ...this.errorsAndNext(f) }
      }
      case 'Parallel':
        return { ...common, type: 'Parallel', ...this.parallel(f, inForeach) }
      case 'Foreach':
        return { ...common, type: 'Foreach', ...this.foreach(f) }
    }
  }

  private next(f: Fields): NextStep {
    const transition = f.string('transition', { max: 64 }) ?? ''
    if (f.boolean('end', false)) {
      if (transition !== '') {
        f.fail('transition', `"${transition}" is set but end is true`)
      }
      return { kind: 'end' }
    }
    return transition === '' ? { kind: 'end' } : { kind: 'to', target: transition }
  }

  private errorsAndNext(f: Fields): { onErrors: ErrorHandler[]; next: NextStep } {
    const onErrors = f.objects('on_errors', { max: 200 }).map((entry) => {
      const condition = this.condition(entry, 'error')
      const retryRef = entry.string('retry_ref', { max: 256 }) ?? ''
      const retry = retryRef === '' ? undefined : this.retries.get(retryRef)
      if (retryRef !== '' && retry === undefined) {
        entry.fail('retry_ref', `"${retryRef}" is not the name of a retries entry`)
      }
      const transition = entry.string('transition', { max: 64 }) ?? ''
      return { condition, retry, transition: transition === '' ? undefined : transition }
    })
    return { onErrors, next: this.next(f) }
  }

  private condition(f: Fields, field: string): Condition {
    const text = f.requiredString(field, 1024)
    try {
      return parseCondition(text)
    } catch (err) {
      if (err instanceof ExpressionError) {
        f.fail(field, `"${text}": ${err.message}`)
      }
      throw err
    }
  }

  private group(
    actions: readonly Fields[],
    mode: 'sequential' | 'parallel',
    timeoutSeconds: number | undefined,
    inForeach: boolean,
  ): ActionGroup {
    const models = actions.map((a) => this.action(a))
    const waiting = models.findIndex((a) => a.callback)
    if (waiting >= 0 && (inForeach || (mode === 'parallel' && models.length > 1))) {
      // The callback names the execution and the node only: it must identify one waiting call.
      actions[waiting]?.fail(
        'function_ref.invoke_mode',
        inForeach
          ? '"async" is not allowed inside a Foreach (a callback could not tell iterations apart)'
          : '"async" is not allowed with action_mode parallel (a callback could not tell the actions apart)',
      )
    }
    return { mode, actions: models, timeoutSeconds }
  }

  private action(f: Fields): ActionModel {
    const ref: Fields | undefined = f.object('function_ref', { required: true })
    if (ref === undefined) {
      f.fail('function_ref', 'is required')
    }
    const refName = ref.requiredString('ref_name', 256)
    const functionUrn =
      this.functions.get(refName) ??
      ref.fail('ref_name', `"${refName}" is not the name of a functions entry`)
    this.calledUrns.add(functionUrn)
    const mode = ref.oneOf('invoke_mode', ['synchronize', 'async'], 'synchronize')
    const args = ref.json('arguments')
    if (args === undefined) {
      return { functionUrn, callback: mode === 'async' }
    }
    try {
      const compiled = compileArguments(args)
      if (compiled.usesConstants) {
        this.usesConstants = true
      }
      return { functionUrn, callback: mode === 'async', parameters: compiled.parameters }
    } catch (err) {
      if (err instanceof ArgumentError) {
        ref.fail(`arguments.${err.key}`, err.message)
      }
      throw err
    }
  }

  private switchConditions(
    f: Fields,
  ): Pick<Extract<StateModel, { type: 'Switch' }>, 'conditions' | 'otherwise'> {
    if (f.string('transition')) {
      f.fail('transition', 'must be empty: a Switch moves on through its conditions')
    }
    const conditions = f.objects('data_conditions', { required: true, min: 1, max: 20 })
    const otherwise = f.object('default_condition', { required: true })
    if (otherwise === undefined) {
      f.fail('default_condition', 'is required')
    }
    return {
      conditions: conditions.map((c) => ({
        condition: this.condition(c, 'condition'),
        next: this.switchTarget(c),
      })),
      otherwise: this.switchTarget(otherwise),
    }
  }

  /** Serverless Workflow 0.8: `transition` (a state id or `{next_state}`) or `end: true`. */
  private switchTarget(f: Fields): NextStep {
    const raw = f.data['transition']
    const transition = isObject(raw)
      ? f.object('transition')?.string('next_state')
      : f.string('transition')
    const end = f.boolean('end', false)
    if (end && transition) {
      f.fail('transition', `"${transition}" is set but end is true`)
    }
    if (end) {
      return { kind: 'end' }
    }
    if (!transition) {
      f.fail('transition', 'is required (or end: true)')
    }
    return { kind: 'to', target: transition }
  }

  private body(f: Fields, inForeach: boolean): Body {
    if (f.has('states')) {
      if (f.has('actions')) {
        f.fail('actions', 'cannot be given together with states')
      }
      const states = f.array('states', { min: 1, max: 100 })
      const start = f.requiredString('start', 64)
      return {
        kind: 'states',
        scope: this.scope(states, start, f, 'states', 'start', inForeach),
      }
    }
    const actions = f.objects('actions', { min: 1, max: 10 })
    const mode = f.oneOf('action_mode', ['sequential', 'parallel'], 'sequential')
    return { kind: 'actions', group: this.group(actions, mode, undefined, inForeach) }
  }

  private parallel(
    f: Fields,
    inForeach: boolean,
  ): Pick<
    Extract<StateModel, { type: 'Parallel' }>,
    'branches' | 'completion' | 'onErrors' | 'next'
  > {
    const branches = f.objects('branches', { required: true, min: 1, max: 20 }).map((b) => {
      b.string('name', { max: 256 })
      const body = this.body(b, inForeach)
      if (body.kind === 'actions' && body.group.actions.some((a) => a.callback)) {
        b.fail(
          'actions',
          'must not use invoke_mode "async" (put the call in a state of the branch)',
        )
      }
      return body
    })
    const type = f.oneOf('completion_type', ['allOf', 'atLeast'], 'allOf')
    const count = f.number('num_completed', { min: 1, max: branches.length, integer: true })
    if (type === 'atLeast' && count === undefined) {
      f.fail('num_completed', 'is required with completion_type atLeast')
    }
    if (type === 'allOf' && count !== undefined) {
      f.fail('num_completed', 'is allowed only with completion_type atLeast')
    }
    const completion = type === 'atLeast' ? { type, count: count ?? branches.length } : { type }
    return { branches, completion, ...this.errorsAndNext(f) }
  }

  private foreach(
    f: Fields,
  ): Omit<Extract<StateModel, { type: 'Foreach' }>, 'type' | 'id' | 'name' | 'filter'> {
    const inputCollection =
      f.string('input_collection')?.trim() === '$' ? '$' : f.path('input_collection')
    if (inputCollection === undefined) {
      f.fail('input_collection', 'is required (a JSONPath to the array, e.g. $.items)')
    }
    const param = (f.string('iteration_param', { max: 64 }) ?? '').replace(/^\$\./, '')
    if (param !== '' && !/^[^\s.[\]'"$*]+$/.test(param)) {
      f.fail('iteration_param', `"${param}" must be a plain key (e.g. item)`)
    }
    const outputCollection = f.path('output_collection')
    if (outputCollection !== undefined && /\.\.|\*|\[\?|:/.test(outputCollection)) {
      f.fail('output_collection', `"${outputCollection}" must name one place (no .., *, filters)`)
    }
    const sequential = f.oneOf('mode', ['parallel', 'sequential'], 'parallel') === 'sequential'
    const batch = f.number('batch_size', { min: 1, max: 100, integer: true })
    const limit = f.number('max_concurrency', { min: 0, max: 100, integer: true })
    return {
      inputCollection,
      iterationParam: param === '' ? 'item' : param,
      outputCollection,
      maxConcurrency: sequential ? 1 : (limit ?? batch ?? 0),
      body: this.body(f, true),
      ...this.errorsAndNext(f),
    }
  }
}
