/**
 * The TestState corpus (`test/conformance/asl/test_state.json`, AWS-recorded): every case runs
 * through `testState` and is compared as the corpus README says (placeholders as wildcards).
 * A case we knowingly cannot reproduce is listed in UNSUPPORTED with its reason and reported as
 * skipped under that reason.
 */
import { expect, test } from 'vitest'
import {
  jsonDifferences,
  loadCorpus,
  placeholderPointers,
} from '../../../test/helpers/asl-corpus.js'
import type { JsonObject, JsonValue } from './definition.js'
import {
  testState,
  type InspectionLevel,
  type TestStateConfiguration,
  type TestStateMock,
} from './test-state.js'

interface TestStateCase {
  readonly name: string
  readonly definition: JsonObject
  readonly stateName?: string
  readonly input?: JsonValue
  readonly inspectionLevel: InspectionLevel
  readonly variables?: JsonObject
  readonly context?: JsonObject
  readonly mock?: TestStateMock
  readonly stateConfiguration?: TestStateConfiguration
  readonly expect: JsonObject
  readonly placeholders?: readonly string[]
}

/** Case name → why we cannot reproduce it. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  'tests/aws/services/stepfunctions/v2/test_state/test_test_state_scenarios.py::TestStateCaseScenarios::test_state_with_variables[base_expressions]':
    'the corpus does not record whether the request carried a roleArn; AWS answered $$.Execution.RoleArn null here, where the runner always sends one',
}

const cases = loadCorpus<TestStateCase>('test_state.json')
let passed = 0

for (const c of cases) {
  const reason = UNSUPPORTED[c.name]
  if (reason !== undefined) {
    test.skip(`${c.name} (unsupported: ${reason})`, () => undefined)
    continue
  }
  test(c.name, async () => {
    const result = await testState({
      definition: c.definition,
      ...(c.stateName === undefined ? {} : { stateName: c.stateName }),
      ...(c.input === undefined ? {} : { input: c.input }),
      inspectionLevel: c.inspectionLevel,
      ...(c.variables === undefined ? {} : { variables: c.variables }),
      ...(c.context === undefined ? {} : { context: c.context }),
      ...(c.mock === undefined ? {} : { mock: c.mock }),
      ...(c.stateConfiguration === undefined ? {} : { stateConfiguration: c.stateConfiguration }),
      roleArn: 'arn:aws:iam::000000000000:role/strato-flows',
    })
    const actual = JSON.parse(JSON.stringify(result)) as JsonObject
    const wildcards = placeholderPointers(c.expect, c.placeholders)
    expect(jsonDifferences(c.expect, actual, '', wildcards)).toEqual([])
    passed++
  })
}

test('report the TestState corpus pass count', () => {
  const skipped = Object.keys(UNSUPPORTED).length
  process.stdout.write(
    `TestState corpus: ${passed} of ${cases.length} passed, ${skipped} unsupported (skipped)\n`,
  )
  expect(cases.length).toBe(124)
})
