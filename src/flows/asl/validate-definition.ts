/**
 * @module Structural validation of an ASL definition (with the `Strato.*` extensions) before it
 * is stored or run: everything the interpreter relies on without checking again. Each problem is
 * reported as `FLOW_INVALID_DEFINITION` with a detail that names the state and the field, the
 * first problem found (depth first, in definition order).
 */
import jsonata from 'jsonata'
import { StratoError } from '../../core/index.js'
import type { AslDefinition, JsonValue, QueryLanguage } from './definition.js'
import { isIntrinsicExpression } from './intrinsics.js'
import { validateChoiceRule } from './validate-choice-rule.js'

const COMMON = ['Type', 'Comment', 'QueryLanguage', 'Strato.Node']
const FLOW = ['Next', 'End']
const JSONPATH_IO = ['InputPath', 'OutputPath']
const JSONATA_IO = ['Output', 'Assign']
const TASKLIKE = ['Parameters', 'ResultSelector', 'ResultPath', 'Retry', 'Catch', 'Arguments']

const ALLOWED: Record<string, readonly string[]> = {
  Pass: [...FLOW, ...JSONPATH_IO, ...JSONATA_IO, 'Parameters', 'ResultPath', 'Result'],
  Task: [
    ...FLOW,
    ...JSONPATH_IO,
    ...JSONATA_IO,
    ...TASKLIKE,
    'Resource',
    'TimeoutSeconds',
    'TimeoutSecondsPath',
    'HeartbeatSeconds',
    'HeartbeatSecondsPath',
    'Credentials',
    'Strato.Callback',
  ],
  Choice: [...JSONPATH_IO, ...JSONATA_IO, 'Choices', 'Default'],
  Wait: [
    ...FLOW,
    ...JSONPATH_IO,
    ...JSONATA_IO,
    'Seconds',
    'SecondsPath',
    'Timestamp',
    'TimestampPath',
  ],
  Succeed: [...JSONPATH_IO, 'Output'],
  Fail: ['Error', 'ErrorPath', 'Cause', 'CausePath'],
  Parallel: [
    ...FLOW,
    ...JSONPATH_IO,
    ...JSONATA_IO,
    ...TASKLIKE,
    'Branches',
    'Strato.CompletionType',
    'Strato.NumCompleted',
  ],
  Map: [
    ...FLOW,
    ...JSONPATH_IO,
    ...JSONATA_IO,
    ...TASKLIKE,
    'ItemsPath',
    'Items',
    'ItemSelector',
    'ItemProcessor',
    'Iterator',
    'MaxConcurrency',
    'MaxConcurrencyPath',
    'ItemReader',
    'ItemBatcher',
    'ResultWriter',
    'ToleratedFailurePercentage',
    'ToleratedFailurePercentagePath',
    'ToleratedFailureCount',
    'ToleratedFailureCountPath',
    'Label',
  ],
}

/** Fields that exist only in JSONPath mode; a JSONata state must not carry them. */
const JSONPATH_ONLY = [
  'InputPath',
  'OutputPath',
  'Parameters',
  'ResultSelector',
  'ResultPath',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'ErrorPath',
  'CausePath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'MaxConcurrencyPath',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCountPath',
]
/** Fields that exist only in JSONata mode. */
const JSONATA_ONLY = ['Arguments', 'Output', 'Items']

const TOP_LEVEL = new Set([
  'StartAt',
  'States',
  'Comment',
  'Version',
  'TimeoutSeconds',
  'QueryLanguage',
])
const MAX_STATE_NAME = 80
const JSONATA_EXPRESSION = /^\{%(.*)%\}$/s

type Json = { readonly [key: string]: unknown }

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(detail: string): never {
  throw new StratoError('FLOW_INVALID_DEFINITION', detail)
}

/** Checks `definition` and returns it typed; throws FLOW_INVALID_DEFINITION naming the problem. */
export function validateDefinition(definition: unknown): AslDefinition {
  if (!isObject(definition)) {
    invalid('The definition must be a JSON object')
  }
  const names = new Set<string>()
  const topLanguage = queryLanguageOf(definition['QueryLanguage'], 'JSONPath', 'The definition')
  if (definition['TimeoutSeconds'] !== undefined) {
    checkInteger(definition['TimeoutSeconds'], 'The definition: TimeoutSeconds', 1, 99999999)
  }
  if (definition['Version'] !== undefined && typeof definition['Version'] !== 'string') {
    invalid('The definition: Version must be a string')
  }
  for (const field of Object.keys(definition)) {
    if (!TOP_LEVEL.has(field)) {
      invalid(`The definition: field ${field} is not allowed at the top level`)
    }
  }
  validateMachine(definition, topLanguage, names, 'The definition')
  return definition as unknown as AslDefinition
}

function queryLanguageOf(value: unknown, inherited: QueryLanguage, where: string): QueryLanguage {
  if (value === undefined) {
    return inherited
  }
  if (value !== 'JSONPath' && value !== 'JSONata') {
    invalid(`${where}: QueryLanguage must be "JSONPath" or "JSONata"`)
  }
  if (inherited === 'JSONata' && value === 'JSONPath') {
    invalid(`${where}: QueryLanguage cannot be JSONPath inside a JSONata state machine`)
  }
  return value
}

/** A machine, a Parallel branch or a Map's processor: its own scope of Next targets. */
function validateMachine(
  machine: Json,
  language: QueryLanguage,
  names: Set<string>,
  where: string,
): void {
  const states = machine['States']
  if (!isObject(states) || Object.keys(states).length === 0) {
    invalid(`${where}: States must be an object with at least one state`)
  }
  const startAt = machine['StartAt']
  if (typeof startAt !== 'string') {
    invalid(`${where}: StartAt must be a string`)
  }
  if (!(startAt in states)) {
    invalid(`${where}: StartAt "${startAt}" is not a state`)
  }
  for (const [name, state] of Object.entries(states)) {
    if (names.has(name)) {
      invalid(`State "${name}": the name is used by another state`)
    }
    names.add(name)
    if (name.length === 0 || name.length > MAX_STATE_NAME) {
      invalid(`State "${name}": a state name has 1 to ${MAX_STATE_NAME} characters`)
    }
    validateState(name, state, states, language, names)
  }
}

function validateState(
  name: string,
  state: unknown,
  states: Json,
  inherited: QueryLanguage,
  names: Set<string>,
): void {
  const where = `State "${name}"`
  if (!isObject(state)) {
    invalid(`${where}: a state must be an object`)
  }
  const type = state['Type']
  if (typeof type !== 'string' || !(type in ALLOWED)) {
    invalid(`${where}: Type must be one of ${Object.keys(ALLOWED).join(', ')}`)
  }
  const language = queryLanguageOf(state['QueryLanguage'], inherited, where)
  const allowed = new Set([...COMMON, ...(ALLOWED[type] ?? [])])
  for (const field of Object.keys(state)) {
    if (!allowed.has(field)) {
      invalid(`${where}: field ${field} is not allowed in a ${type} state`)
    }
    if (language === 'JSONata' && JSONPATH_ONLY.includes(field)) {
      invalid(`${where}: field ${field} is not allowed in a JSONata state (use Arguments/Output)`)
    }
    if (language === 'JSONPath' && JSONATA_ONLY.includes(field)) {
      invalid(`${where}: field ${field} needs QueryLanguage JSONata`)
    }
  }
  const target = (field: string, value: unknown): void => {
    if (typeof value !== 'string') {
      invalid(`${where}: ${field} must be a state name`)
    }
    if (!(value in states)) {
      invalid(`${where}: ${field} "${value}" is not a state`)
    }
  }
  if (type !== 'Choice' && type !== 'Succeed' && type !== 'Fail') {
    const hasNext = state['Next'] !== undefined
    const ends = state['End'] === true
    if (state['End'] !== undefined && typeof state['End'] !== 'boolean') {
      invalid(`${where}: End must be a boolean`)
    }
    if (hasNext === ends) {
      invalid(`${where}: exactly one of Next and End: true is needed`)
    }
    if (hasNext) {
      target('Next', state['Next'])
    }
  }
  for (const field of ['InputPath', 'OutputPath', 'ItemsPath']) {
    const value = state[field]
    if (value !== undefined && value !== null && !isPath(value)) {
      invalid(`${where}: ${field} must be a path starting with $`)
    }
  }
  if (state['ResultPath'] !== undefined && state['ResultPath'] !== null) {
    checkReferencePath(state['ResultPath'], `${where}: ResultPath`)
  }
  if (language === 'JSONata') {
    checkJsonataStrings(state, where)
  }
  checkPayloadTemplates(state, where)
  const node = state['Strato.Node']
  if (
    node !== undefined &&
    !(isObject(node) && typeof node['id'] === 'string' && typeof node['name'] === 'string')
  ) {
    invalid(`${where}: Strato.Node must be an object with string id and name`)
  }
  if (state['Assign'] !== undefined && !isObject(state['Assign'])) {
    invalid(`${where}: Assign must be an object`)
  }
  if (state['Retry'] !== undefined) {
    validateRetry(state['Retry'], where)
  }
  if (state['Catch'] !== undefined) {
    validateCatch(state['Catch'], where, target)
  }
  switch (type) {
    case 'Task':
      validateTask(state, where)
      break
    case 'Choice':
      validateChoice(state, where, language, target)
      break
    case 'Wait':
      validateWait(state, where, language)
      break
    case 'Fail':
      for (const [field, pathField] of [
        ['Error', 'ErrorPath'],
        ['Cause', 'CausePath'],
      ] as const) {
        if (state[field] !== undefined && state[pathField] !== undefined) {
          invalid(`${where}: ${field} and ${pathField} cannot both be set`)
        }
        if (state[field] !== undefined && typeof state[field] !== 'string') {
          invalid(`${where}: ${field} must be a string`)
        }
        if (state[pathField] !== undefined && !isPath(state[pathField])) {
          invalid(`${where}: ${pathField} must be a path or an intrinsic function`)
        }
      }
      break
    case 'Parallel':
      validateParallel(state, where, language, names)
      break
    case 'Map':
      validateMap(state, where, language, names)
      break
    default:
      break
  }
}

/** A path (`$…`, `$$…`, `$name…`) or an intrinsic function call (`States.…(`, `Strato.…(`). */
function isPath(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith('$') || isIntrinsicExpression(value))
}

function checkReferencePath(value: unknown, where: string): void {
  if (typeof value !== 'string' || !value.startsWith('$')) {
    invalid(`${where} must be a path starting with $`)
  }
  if (/\.\.|\*|\?\(|\[\s*-?\d*\s*:/.test(value)) {
    invalid(`${where} "${value}" must be a reference path (no "..", "*", filters or slices)`)
  }
}

function checkInteger(value: unknown, where: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${where} must be an integer from ${min} to ${max}`)
  }
}

function checkJsonataStrings(value: unknown, where: string, field = ''): void {
  if (typeof value === 'string') {
    const match = JSONATA_EXPRESSION.exec(value)
    if (match) {
      try {
        jsonata(match[1] ?? '')
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        invalid(`${where}: ${field} holds an invalid JSONata expression: ${message}`)
      }
    }
    return
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJsonataStrings(item, where, `${field}[${index}]`))
    return
  }
  if (!isObject(value)) {
    return
  }
  for (const [key, child] of Object.entries(value)) {
    // Nested machines are checked as states of their own.
    if (key === 'Branches' || key === 'ItemProcessor' || key === 'Iterator') {
      continue
    }
    checkJsonataStrings(child, where, field === '' ? key : `${field}.${key}`)
  }
}

/** In a payload template a key ending in `.$` must hold a path or an intrinsic function. */
function checkPayloadTemplates(state: Json, where: string): void {
  const walk = (value: unknown, field: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${field}[${i}]`))
    }
    if (!isObject(value)) {
      return
    }
    for (const [key, child] of Object.entries(value)) {
      if (key.endsWith('.$') && !isPath(child)) {
        invalid(`${where}: ${field}.${key} must hold a path or an intrinsic function`)
      }
      walk(child, `${field}.${key}`)
    }
  }
  for (const field of ['Parameters', 'ResultSelector', 'ItemSelector']) {
    if (state[field] !== undefined) {
      walk(state[field], field)
    }
  }
}

function validateRetry(value: unknown, where: string): void {
  if (!Array.isArray(value)) {
    invalid(`${where}: Retry must be an array`)
  }
  value.forEach((retrier: unknown, index) => {
    const at = `${where}: Retry[${index}]`
    if (!isObject(retrier)) {
      invalid(`${at} must be an object`)
    }
    checkErrorEquals(retrier['ErrorEquals'], at, index === value.length - 1)
    const known = new Set([
      'ErrorEquals',
      'IntervalSeconds',
      'MaxAttempts',
      'BackoffRate',
      'MaxDelaySeconds',
      'JitterStrategy',
      'Comment',
    ])
    for (const field of Object.keys(retrier)) {
      if (!known.has(field)) {
        invalid(`${at}: field ${field} is not allowed in a retrier`)
      }
    }
    if (retrier['IntervalSeconds'] !== undefined) {
      checkInteger(retrier['IntervalSeconds'], `${at}.IntervalSeconds`, 1, 99999999)
    }
    if (retrier['MaxAttempts'] !== undefined) {
      checkInteger(retrier['MaxAttempts'], `${at}.MaxAttempts`, 0, 99999999)
    }
    if (retrier['MaxDelaySeconds'] !== undefined) {
      checkInteger(retrier['MaxDelaySeconds'], `${at}.MaxDelaySeconds`, 1, 31622401)
    }
    const rate = retrier['BackoffRate']
    if (rate !== undefined && (typeof rate !== 'number' || rate < 1)) {
      invalid(`${at}.BackoffRate must be a number ≥ 1.0`)
    }
    const jitter = retrier['JitterStrategy']
    if (jitter !== undefined && jitter !== 'FULL' && jitter !== 'NONE') {
      invalid(`${at}.JitterStrategy must be FULL or NONE`)
    }
  })
}

function validateCatch(
  value: unknown,
  where: string,
  target: (field: string, value: unknown) => void,
): void {
  if (!Array.isArray(value)) {
    invalid(`${where}: Catch must be an array`)
  }
  value.forEach((catcher: unknown, index) => {
    const at = `Catch[${index}]`
    if (!isObject(catcher)) {
      invalid(`${where}: ${at} must be an object`)
    }
    checkErrorEquals(catcher['ErrorEquals'], `${where}: ${at}`, index === value.length - 1)
    const known = new Set(['ErrorEquals', 'Next', 'ResultPath', 'Output', 'Assign', 'Comment'])
    for (const field of Object.keys(catcher)) {
      if (!known.has(field)) {
        invalid(`${where}: ${at}: field ${field} is not allowed in a catcher`)
      }
    }
    target(`${at}.Next`, catcher['Next'])
    if (catcher['ResultPath'] !== undefined && catcher['ResultPath'] !== null) {
      checkReferencePath(catcher['ResultPath'], `${where}: ${at}.ResultPath`)
    }
  })
}

function checkErrorEquals(value: unknown, at: string, last: boolean): void {
  if (!Array.isArray(value) || value.length === 0 || value.some((e) => typeof e !== 'string')) {
    invalid(`${at}.ErrorEquals must be a non-empty array of error names`)
  }
  if (value.includes('States.ALL')) {
    if (value.length !== 1) {
      invalid(`${at}.ErrorEquals: States.ALL must appear alone`)
    }
    if (!last) {
      invalid(`${at}.ErrorEquals: States.ALL must be in the last one`)
    }
  }
}

function validateTask(state: Json, where: string): void {
  if (typeof state['Resource'] !== 'string' || state['Resource'] === '') {
    invalid(`${where}: Resource must be a non-empty string`)
  }
  for (const field of ['TimeoutSeconds', 'HeartbeatSeconds']) {
    const value = state[field]
    if (value === undefined || (typeof value === 'string' && JSONATA_EXPRESSION.test(value))) {
      continue
    }
    checkInteger(value, `${where}: ${field}`, 1, 99999999)
    if (state[`${field}Path`] !== undefined) {
      invalid(`${where}: ${field} and ${field}Path cannot both be set`)
    }
  }
  const timeout = state['TimeoutSeconds']
  const heartbeat = state['HeartbeatSeconds']
  if (typeof timeout === 'number' && typeof heartbeat === 'number' && heartbeat >= timeout) {
    invalid(`${where}: HeartbeatSeconds must be smaller than TimeoutSeconds`)
  }
  const callback = state['Strato.Callback']
  if (callback !== undefined && typeof callback !== 'boolean') {
    invalid(`${where}: Strato.Callback must be a boolean`)
  }
}

function validateChoice(
  state: Json,
  where: string,
  language: QueryLanguage,
  target: (field: string, value: unknown) => void,
): void {
  const choices = state['Choices']
  if (!Array.isArray(choices) || choices.length === 0) {
    invalid(`${where}: Choices must be a non-empty array`)
  }
  choices.forEach((rule: unknown, index) => {
    const at = `Choices[${index}]`
    if (!isObject(rule)) {
      invalid(`${where}: ${at} must be an object`)
    }
    target(`${at}.Next`, rule['Next'])
    const problem = validateChoiceRule(rule, language, true)
    if (problem !== undefined) {
      invalid(`${where}: ${at}${problem}`)
    }
  })
  if (state['Default'] !== undefined) {
    target('Default', state['Default'])
  }
}

function validateWait(state: Json, where: string, language: QueryLanguage): void {
  const fields = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter(
    (field) => state[field] !== undefined,
  )
  if (fields.length !== 1) {
    invalid(`${where}: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is needed`)
  }
  const seconds = state['Seconds']
  const literal = (value: unknown): boolean =>
    !(language === 'JSONata' && typeof value === 'string' && JSONATA_EXPRESSION.test(value))
  if (seconds !== undefined && literal(seconds)) {
    checkInteger(seconds, `${where}: Seconds`, 0, 99999999)
  }
  const timestamp = state['Timestamp']
  if (timestamp !== undefined && literal(timestamp)) {
    if (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp))) {
      invalid(`${where}: Timestamp must be an ISO-8601 timestamp`)
    }
  }
  for (const field of ['SecondsPath', 'TimestampPath']) {
    if (state[field] !== undefined && !isPath(state[field])) {
      invalid(`${where}: ${field} must be a path starting with $`)
    }
  }
}

function validateParallel(
  state: Json,
  where: string,
  language: QueryLanguage,
  names: Set<string>,
): void {
  const branches = state['Branches']
  if (!Array.isArray(branches) || branches.length === 0) {
    invalid(`${where}: Branches must be a non-empty array`)
  }
  branches.forEach((branch: unknown, index) => {
    if (!isObject(branch)) {
      invalid(`${where}: Branches[${index}] must be an object`)
    }
    const branchLanguage = queryLanguageOf(
      branch['QueryLanguage'],
      language,
      `${where}: Branches[${index}]`,
    )
    validateMachine(branch, branchLanguage, names, `${where}: Branches[${index}]`)
  })
  const completion = state['Strato.CompletionType']
  if (completion !== undefined && completion !== 'allOf' && completion !== 'atLeast') {
    invalid(`${where}: Strato.CompletionType must be allOf or atLeast`)
  }
  const needed = state['Strato.NumCompleted']
  if (completion === 'atLeast') {
    checkInteger(needed, `${where}: Strato.NumCompleted`, 1, branches.length)
  } else if (needed !== undefined) {
    invalid(`${where}: Strato.NumCompleted needs Strato.CompletionType atLeast`)
  }
}

function validateMap(
  state: Json,
  where: string,
  language: QueryLanguage,
  names: Set<string>,
): void {
  const processor = state['ItemProcessor'] ?? state['Iterator']
  if (state['ItemProcessor'] !== undefined && state['Iterator'] !== undefined) {
    invalid(`${where}: ItemProcessor and Iterator cannot both be set`)
  }
  if (!isObject(processor)) {
    invalid(`${where}: ItemProcessor must be an object`)
  }
  const config = processor['ProcessorConfig']
  if (config !== undefined) {
    if (!isObject(config)) {
      invalid(`${where}: ItemProcessor.ProcessorConfig must be an object`)
    }
    const mode = config['Mode']
    if (mode !== undefined && mode !== 'INLINE' && mode !== 'DISTRIBUTED') {
      invalid(`${where}: ItemProcessor.ProcessorConfig.Mode must be INLINE or DISTRIBUTED`)
    }
  }
  const processorLanguage = queryLanguageOf(
    processor['QueryLanguage'],
    language,
    `${where}: ItemProcessor`,
  )
  validateMachine(processor, processorLanguage, names, `${where}: ItemProcessor`)
  if (state['ItemSelector'] !== undefined && state['Parameters'] !== undefined) {
    invalid(`${where}: ItemSelector and Parameters cannot both be set`)
  }
  const concurrency: JsonValue | undefined = state['MaxConcurrency'] as JsonValue | undefined
  if (
    concurrency !== undefined &&
    !(typeof concurrency === 'string' && JSONATA_EXPRESSION.test(concurrency))
  ) {
    checkInteger(concurrency, `${where}: MaxConcurrency`, 0, 99999999)
  }
  if (concurrency !== undefined && state['MaxConcurrencyPath'] !== undefined) {
    invalid(`${where}: MaxConcurrency and MaxConcurrencyPath cannot both be set`)
  }
  for (const field of ['ItemReader', 'ResultWriter', 'ItemBatcher']) {
    if (state[field] !== undefined) {
      invalid(`${where}: ${field} (distributed Map) is not supported`)
    }
  }
}
