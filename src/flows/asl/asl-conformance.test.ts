/**
 * The ASL conformance corpus (test/conformance/asl, recorded against AWS Step Functions), every
 * execution file: each case is validated, run on the in-memory conformance host and compared as
 * the corpus README says (the comparison is test/helpers/asl-corpus.ts, shared with the TestState
 * runner). test_state.json is TestState's (test-state-conformance.test.ts).
 */
import { readdirSync } from 'node:fs'
import { afterAll, describe, expect, test } from 'vitest'
import {
  jsonDifferences,
  loadCorpus,
  placeholderPointers,
} from '../../../test/helpers/asl-corpus.js'
import { createConformanceHost } from './conformance-host.js'
import type { ExecutionOutcome, JsonValue } from './definition.js'
import { runStateMachine } from './interpreter.js'
import { validateDefinition } from './validate-definition.js'

interface CorpusCase {
  readonly name: string
  readonly definition: unknown
  readonly input?: JsonValue
  readonly expect: {
    readonly status: 'SUCCEEDED' | 'FAILED'
    readonly output?: JsonValue
    readonly error?: string
    readonly cause?: JsonValue
  }
  readonly states?: readonly string[]
  readonly states_order?: 'loose'
  readonly placeholders?: readonly string[]
}

const corpusDir = new URL('../../../test/conformance/asl/', import.meta.url)
const files = readdirSync(corpusDir)
  .filter((file) => file.endsWith('.json') && file !== 'test_state.json')
  .sort()

/** Cases this engine knowingly does not pass, with the reason. */
const UNSUPPORTED: Record<string, string> = {}

function outcomeDifferences(
  testCase: CorpusCase,
  outcome: ExecutionOutcome,
  entered: readonly string[],
): string[] {
  const wildcards = placeholderPointers(testCase.expect, testCase.placeholders)
  const want = testCase.expect
  if (outcome.status !== want.status) {
    return [`status: expected ${want.status}, got ${JSON.stringify(outcome)}`]
  }
  const out: string[] = []
  if (outcome.status === 'SUCCEEDED') {
    out.push(...jsonDifferences(want.output, outcome.output, '/output', wildcards))
  } else {
    // A Fail state without Error fails with no error name; the outcome carries ''.
    const error = outcome.error === '' ? undefined : outcome.error
    out.push(...jsonDifferences(want.error, error, '/error', wildcards))
    let cause: JsonValue | undefined = outcome.cause
    if (want.cause !== undefined && typeof want.cause !== 'string' && cause !== undefined) {
      try {
        cause = JSON.parse(cause) as JsonValue
      } catch {
        // compared as the string it is
      }
    }
    out.push(...jsonDifferences(want.cause, cause, '/cause', wildcards))
  }
  if (testCase.states) {
    if (testCase.states_order === 'loose') {
      const sorted = (list: readonly string[]): string => JSON.stringify([...list].sort())
      if (sorted(testCase.states) !== sorted(entered)) {
        out.push(`states: expected ${sorted(testCase.states)}, got ${sorted(entered)}`)
      }
    } else if (JSON.stringify(testCase.states) !== JSON.stringify(entered)) {
      out.push(
        `states: expected ${JSON.stringify(testCase.states)}, got ${JSON.stringify(entered)}`,
      )
    }
  }
  return out
}

interface MachineShape {
  readonly States?: Record<string, Record<string, unknown>>
}

/**
 * States that run inside a DISTRIBUTED Map: AWS records them in child executions, not in the
 * parent's history (the engine runs them inline, so they are left out of the comparison).
 */
function childExecutionStates(
  machine: MachineShape,
  inside = false,
  out = new Set<string>(),
): Set<string> {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    if (inside) {
      out.add(name)
    }
    for (const branch of (state['Branches'] ?? []) as MachineShape[]) {
      childExecutionStates(branch, inside, out)
    }
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as
      (MachineShape & { ProcessorConfig?: { Mode?: string } }) | undefined
    if (processor !== undefined) {
      const distributed = processor.ProcessorConfig?.Mode === 'DISTRIBUTED'
      childExecutionStates(processor, inside || distributed, out)
    }
  }
  return out
}

async function runCase(testCase: CorpusCase): Promise<string[]> {
  const host = createConformanceHost()
  let outcome: ExecutionOutcome
  try {
    const definition = validateDefinition(testCase.definition)
    outcome = await runStateMachine({
      definition,
      input: testCase.input ?? {},
      host,
      seed: testCase.name,
      context: {
        executionId:
          'arn:aws:states:us-east-1:111111111111:execution:Machine:0f6c1c5e-8e0a-4c55-9a47-3f0ab1c1d2e3',
        executionName: '0f6c1c5e-8e0a-4c55-9a47-3f0ab1c1d2e3',
        startTime: new Date(host.now()).toISOString(),
        stateMachineId: 'arn:aws:states:us-east-1:111111111111:stateMachine:Machine',
        stateMachineName: 'Machine',
        roleArn: 'arn:aws:iam::111111111111:role/snf-role',
        redriveCount: 0,
      },
    })
  } catch (error) {
    return [`threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`]
  }
  const hidden = childExecutionStates(testCase.definition as MachineShape)
  const entered = host.enteredStates.filter((name) => !hidden.has(name))
  return outcomeDifferences(testCase, outcome, entered)
}

const tally: Record<string, { passed: number; failed: number; skipped: number }> = {}

for (const file of files) {
  const cases = loadCorpus<CorpusCase>(file)
  const counts = { passed: 0, failed: 0, skipped: 0 }
  tally[file] = counts
  describe(file, () => {
    for (const testCase of cases) {
      const reason = UNSUPPORTED[testCase.name]
      if (reason !== undefined) {
        counts.skipped += 1
        test.skip(`${testCase.name} — ${reason}`, () => undefined)
        continue
      }
      test(testCase.name, async () => {
        const problems = await runCase(testCase)
        if (problems.length === 0) {
          counts.passed += 1
        } else {
          counts.failed += 1
        }
        if (problems.length > 0) {
          expect.fail(problems.join('\n'))
        }
      })
    }
  })
}

afterAll(() => {
  const total = Object.values(tally).reduce(
    (sum, c) => ({
      passed: sum.passed + c.passed,
      failed: sum.failed + c.failed,
      skipped: sum.skipped + c.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  )
  const lines = Object.entries(tally).map(
    ([file, c]) => `${file}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} unsupported`,
  )
  process.stdout.write(
    `ASL conformance (execution files)\n${lines.join('\n')}\ntotal: ${total.passed} passed, ${total.failed} failed, ${total.skipped} unsupported\n`,
  )
})
