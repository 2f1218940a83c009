/**
 * @module The two workflow bodies the create/update API accepts, made into a CompiledWorkflow:
 * Huawei's v2 `WorkflowCreateBody` (compiled to the ASL IR here) and Strato's ASL body
 * `{name, description?, mode?, asl: {StartAt, States, …}}` (whose `asl` the route validates with
 * `validateDefinition`).
 */
import type { AslDefinition } from '../asl/definition.js'
import { Fields, invalid, isObject } from './body-fields.js'
import type { Json } from './body-fields.js'
import { compileWorkflow } from './compile-states.js'
import { readWorkflowBody, readWorkflowHeader } from './read-workflow-body.js'

export interface CompiledWorkflow {
  readonly name: string
  readonly description: string
  readonly mode: 'NORMAL' | 'EXPRESS'
  readonly enableStreamResponse: boolean
  readonly ir: AslDefinition
  /** Every function the flow calls (the API checks they exist), each once. */
  readonly functionUrns: readonly string[]
}

/** Validates a Huawei v2 body and compiles it; FLOW_INVALID_DEFINITION names state and field. */
export function compileHuaweiWorkflow(body: unknown): CompiledWorkflow {
  const model = readWorkflowBody(body)
  return {
    name: model.name,
    description: model.description,
    mode: model.mode,
    enableStreamResponse: model.enableStreamResponse,
    ir: compileWorkflow(model),
    functionUrns: model.functionUrns,
  }
}

/** Whether a create/update body is the ASL form (it has an `asl` field). */
export function isAslWorkflowBody(body: unknown): boolean {
  return isObject(body) && body['asl'] !== undefined
}

/**
 * Checks the ASL body's name, description and mode like a v2 body's; `ir` is `body.asl` as sent
 * (NOT validated: the caller runs `validateDefinition` on it).
 */
export function compileAslWorkflowBody(body: unknown): CompiledWorkflow {
  if (!isObject(body)) {
    invalid('The workflow body must be a JSON object')
  }
  const header = readWorkflowHeader(new Fields(body, ''))
  const asl = body['asl']
  if (!isObject(asl)) {
    invalid('asl must be an object (an ASL state machine: StartAt, States, …)')
  }
  for (const field of ['start', 'states', 'functions']) {
    if (body[field] !== undefined) {
      invalid(`${field} cannot be given together with asl`)
    }
  }
  return { ...header, ir: asl as unknown as AslDefinition, functionUrns: [...taskUrns(asl)] }
}

/** The `urn:fss:` Task resources of a machine, its Parallel branches and Map processors. */
function taskUrns(machine: Json, found = new Set<string>()): Set<string> {
  const states = machine['States']
  if (!isObject(states)) {
    return found
  }
  for (const state of Object.values(states)) {
    if (!isObject(state)) {
      continue
    }
    const resource = state['Resource']
    if (typeof resource === 'string' && resource.startsWith('urn:fss:')) {
      found.add(resource)
    }
    const branches = state['Branches']
    if (Array.isArray(branches)) {
      for (const branch of branches) {
        if (isObject(branch)) {
          taskUrns(branch, found)
        }
      }
    }
    for (const field of ['ItemProcessor', 'Iterator']) {
      const processor = state[field]
      if (isObject(processor)) {
        taskUrns(processor, found)
      }
    }
  }
  return found
}
