/**
 * @module Structural validation of an ASL definition (with the `Strato.*` extensions) before it
 * is stored or run: everything the interpreter relies on without checking again. Each problem is
 * reported as `FLOW_INVALID_DEFINITION` with a detail that names the state and the field, the
 * first problem found (depth first, in definition order).
 */
import type { AslDefinition, JsonValue, QueryLanguage } from './definition.js'
import { validateChoiceRule } from './validate-choice-rule.js'
import {
  checkInteger,
  checkJsonataStrings,
  checkPayloadTemplates,
  checkReferencePath,
  invalid,
  isObject,
  isPath,
  type Json,
  JSONATA_EXPRESSION,
  validateCatch,
  validateRetry,
  validateTask,
  validateWait,
} from './validate-state-fields.js'

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
