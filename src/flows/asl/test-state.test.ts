import { expect, test } from 'vitest'
import { isStratoError } from '../../core/index.js'
import { testState } from './test-state.js'

test('a Task without a mock is refused as an invalid request', async () => {
  const error = await testState({ definition: { Type: 'Task', Resource: 'x', End: true } }).catch(
    (e: unknown) => e,
  )
  expect(isStratoError(error, 'FLOW_INVALID_DEFINITION')).toBe(true)
})

test('a stateName that is not in the machine is refused', async () => {
  const definition = { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }
  const error = await testState({ definition, stateName: 'B' }).catch((e: unknown) => e)
  expect(isStratoError(error, 'FLOW_INVALID_DEFINITION')).toBe(true)
})

test('a Wait state succeeds at once with its next state', async () => {
  const started = Date.now()
  const result = await testState({
    definition: { Type: 'Wait', Seconds: 3600, Next: 'After' },
    input: { a: 1 },
  })
  expect(result).toEqual({ status: 'SUCCEEDED', output: { a: 1 }, nextState: 'After' })
  expect(Date.now() - started).toBeLessThan(1000)
})

test('a Choice with no match and no Default fails with States.NoChoiceMatched', async () => {
  const result = await testState({
    definition: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'One' }] },
    input: { n: 2 },
  })
  expect(result.status).toBe('FAILED')
  expect(result.error).toBe('States.NoChoiceMatched')
})

test('the retry back-off grows with the retries already made and stops at MaxDelaySeconds', async () => {
  const definition = {
    Type: 'Task',
    Resource: 'x',
    Retry: [
      {
        ErrorEquals: ['Boom'],
        IntervalSeconds: 2,
        BackoffRate: 3,
        MaxAttempts: 9,
        MaxDelaySeconds: 30,
      },
    ],
    End: true,
  }
  const mock = { errorOutput: { error: 'Boom' } }
  const backoff = async (retrierRetryCount: number): Promise<number | undefined> => {
    const result = await testState({
      definition,
      mock,
      inspectionLevel: 'DEBUG',
      stateConfiguration: { retrierRetryCount },
    })
    expect(result.status).toBe('RETRIABLE')
    return result.inspectionData?.errorDetails?.retryBackoffIntervalSeconds
  }
  expect(await backoff(0)).toBe(2)
  expect(await backoff(2)).toBe(18)
  expect(await backoff(3)).toBe(30)
})

test('an exhausted retrier hands the error to Catch (JSONPath ResultPath)', async () => {
  const result = await testState({
    definition: {
      Type: 'Task',
      Resource: 'x',
      Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 1 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Recover' }],
      End: true,
    },
    input: { keep: true },
    mock: { errorOutput: { error: 'Boom', cause: 'why' } },
    stateConfiguration: { retrierRetryCount: 1 },
    inspectionLevel: 'TRACE',
  })
  expect(result).toMatchObject({
    status: 'CAUGHT_ERROR',
    output: { keep: true, error: { Error: 'Boom', Cause: 'why' } },
    nextState: 'Recover',
    inspectionData: { errorDetails: { retryIndex: 0, catchIndex: 0 } },
  })
})

test('a Map fails its tolerated percentage when too many iterations failed', async () => {
  const definition = {
    Type: 'Map',
    ToleratedFailurePercentage: 50,
    ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
    End: true,
  }
  const run = (mapIterationFailureCount: number) =>
    testState({
      definition,
      input: [1, 2, 3, 4],
      mock: { result: [1, 2, 3, 4] },
      stateConfiguration: { mapIterationFailureCount },
    })
  expect((await run(2)).status).toBe('SUCCEEDED')
  expect(await run(3)).toMatchObject({
    status: 'FAILED',
    error: 'States.ExceedToleratedFailureThreshold',
  })
})

test('variables assigned by the state appear in the inspection data', async () => {
  const result = await testState({
    definition: {
      Type: 'Pass',
      QueryLanguage: 'JSONata',
      Assign: { total: '{% $states.input.a + $base %}' },
      End: true,
    },
    input: { a: 2 },
    variables: { base: 40 },
    inspectionLevel: 'DEBUG',
  })
  expect(result.inspectionData?.variables).toEqual({ base: 40, total: 42 })
})
