import { expect, test } from 'vitest'
import { isStratoError } from '../../core/index.js'
import type { JsonValue } from '../asl/definition.js'
import { validateDefinition } from '../asl/validate-definition.js'
import { compileHuaweiWorkflow } from './compile-workflow.js'

const urn = (name: string): string => `urn:fss:cn-north-7:p0:function:default:${name}:latest`

/** A body that uses every construct, to mutate. */
const SEED: JsonValue = {
  name: 'everything',
  start: 'Start',
  constants: { c: { d: 1 } },
  retries: [{ name: 'r', delay: 1, max_attempts: 2 }],
  functions: [
    { name: 'f', operation: urn('f') },
    { name: 'g', operation: urn('g') },
  ],
  states: [
    {
      id: 'Start',
      name: 'start',
      type: 'Operation',
      action_mode: 'sequential',
      actions: [
        { function_ref: { ref_name: 'f', arguments: { a: '$.a | $CONST.c.d', b: "'x'" } } },
        { function_ref: { ref_name: 'g' } },
      ],
      on_errors: [
        { error: "$.errorType == 'E*' || $.errorCode >= 500", retry_ref: 'r', transition: 'Route' },
      ],
      state_data_filter: { input: '$', output: '$' },
      timeout: 5,
      end: false,
      transition: 'Route',
    },
    {
      id: 'Route',
      name: 'route',
      type: 'Switch',
      data_conditions: [{ condition: '$.n == 1', transition: 'Fan' }],
      default_condition: { transition: 'Loop' },
    },
    {
      id: 'Fan',
      name: 'fan',
      type: 'Parallel',
      completion_type: 'atLeast',
      num_completed: 1,
      branches: [
        { actions: [{ function_ref: { ref_name: 'f' } }] },
        {
          start: 'Nap',
          states: [{ id: 'Nap', name: 'nap', type: 'Sleep', duration: 1, end: true }],
        },
      ],
      end: false,
      transition: 'End',
    },
    {
      id: 'Loop',
      name: 'loop',
      type: 'Foreach',
      input_collection: '$.xs',
      output_collection: '$.ys',
      actions: [{ function_ref: { ref_name: 'g', invoke_mode: 'synchronize' } }],
      on_errors: [{ error: '$.errorCode == 500' }],
      end: false,
      transition: 'End',
    },
    { id: 'End', name: 'End', type: 'End', end: true, transition: '', actions: [] },
  ],
}

function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const ODD_VALUES: JsonValue[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e9,
  '',
  ' ',
  '$',
  '$.',
  "'",
  'End',
  'Start',
  'x:y',
  '$..a',
  '$.a ==',
  '|',
  '$.a | ',
  [],
  [{}],
  {},
  { transition: 'End' },
  'a'.repeat(300),
]

/** Replaces one random value of the tree (or deletes an object field) with an odd value. */
function mutate(value: JsonValue, next: () => number): JsonValue {
  const copy = structuredClone(value)
  const slots: { parent: JsonValue[] | Record<string, JsonValue>; key: string | number }[] = []
  const walk = (node: JsonValue): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        slots.push({ parent: node, key: i })
        walk(child)
      })
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        slots.push({ parent: node, key })
        walk(child)
      }
    }
  }
  walk(copy)
  const slot = slots[Math.floor(next() * slots.length)]
  if (slot === undefined) {
    return copy
  }
  const odd = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)] ?? null
  if (!Array.isArray(slot.parent) && next() < 0.2) {
    delete slot.parent[slot.key]
  } else {
    ;(slot.parent as Record<string | number, JsonValue>)[slot.key] = structuredClone(odd)
  }
  return copy
}

test('the seed body compiles to a definition the engine accepts', () => {
  expect(() => validateDefinition(compileHuaweiWorkflow(SEED).ir)).not.toThrow()
})

test('1500 random mutations either compile to a valid definition or are refused as invalid', () => {
  const next = random(17)
  let accepted = 0
  for (let i = 0; i < 1500; i++) {
    let body: JsonValue = SEED
    const rounds = 1 + Math.floor(next() * 3)
    for (let m = 0; m < rounds; m++) {
      body = mutate(body, next)
    }
    let ir
    try {
      ir = compileHuaweiWorkflow(body).ir
    } catch (err) {
      if (!isStratoError(err, 'FLOW_INVALID_DEFINITION')) {
        throw new Error(`mutation ${i} threw ${String(err)}: ${JSON.stringify(body)}`)
      }
      continue
    }
    accepted++
    try {
      validateDefinition(ir)
    } catch (err) {
      throw new Error(
        `mutation ${i} compiled to an invalid IR (${String(err)}): ${JSON.stringify(body)}`,
      )
    }
  }
  // both outcomes occur, or the mutations did not exercise anything
  expect(accepted).toBeGreaterThan(50)
  expect(accepted).toBeLessThan(1450)
})
