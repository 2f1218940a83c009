import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import { evaluatePayloadTemplate } from './payload-template.js'
import type { PathScope } from './json-path.js'

const scope: PathScope = {
  context: { Execution: { Name: 'run-1' } },
  variable: (name) => (name === 'greeting' ? 'hi' : undefined),
  random: () => 0.25,
}

test('.$ keys take a path, context path, variable or intrinsic and lose the suffix', () => {
  const template = {
    'id.$': '$.order.id',
    'run.$': '$$.Execution.Name',
    'greeting.$': '$greeting',
    'label.$': "States.Format('order {}', $.order.id)",
    static: { 'nested.$': '$.order.qty', list: [1, { 'x.$': '$.order.id' }] },
  }
  expect(evaluatePayloadTemplate(template, { order: { id: 'o7', qty: 3 } }, scope)).toEqual({
    id: 'o7',
    run: 'run-1',
    greeting: 'hi',
    label: 'order o7',
    static: { nested: 3, list: [1, { x: 'o7' }] },
  })
})

test('a .$ path that selects nothing names the field and the input', () => {
  try {
    evaluatePayloadTemplate({ 'value.$': '$.no_such_jsonpath' }, { a: 1 }, scope)
    expect.unreachable()
  } catch (error) {
    expect(error).toBeInstanceOf(AslError)
    expect((error as AslError).error).toBe('States.Runtime')
    expect((error as AslError).cause).toBe(
      `The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{"a":1}'`,
    )
  }
})
