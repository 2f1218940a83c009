/**
 * Asynchronous invocation through the official SDK: accept (202), the async invoke config round
 * trip, records, retries of a failing function exactly `max_async_retry_attempts` times, the
 * on_failure and on_success destinations with the §6.10 payload, the dead-letter list, cancel.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, waitFor, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

let strato: TestStrato
let client: any

const urnOf = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

const OK = urnOf('async-ok')
const FAILING = urnOf('async-failing')
const SINK = urnOf('async-sink')
const SLOW = urnOf('async-slow')
const CRASHER = urnOf('async-crasher')
const EXITER = urnOf('async-exiter')

beforeAll(async () => {
  strato = await startTestStrato({
    STRATO_ASYNC_RETRY_BASE_MS: '50',
    STRATO_ASYNC_SYSTEM_RETRY_BASE_MS: '50',
    STRATO_ASYNC_POLL_MS: '20',
  })
  client = sdkClient(strato.url)
  const c = strato.client
  await c.createFunction(
    inlineFunction('async-ok', 'exports.handler = async (event) => ({ echo: event })'),
  )
  await c.createFunction(
    inlineFunction(
      'async-failing',
      "exports.handler = async (event) => { console.log('attempt', JSON.stringify(event)); throw new Error('always fails') }",
    ),
  )
  await c.createFunction(
    inlineFunction(
      'async-sink',
      "exports.handler = async (event) => { console.log('DEST ' + JSON.stringify(event)); return 'ok' }",
    ),
  )
  await c.createFunction(
    inlineFunction(
      'async-crasher',
      "exports.handler = async () => { process.kill(process.pid, 'SIGKILL') }",
    ),
  )
  await c.createFunction(
    inlineFunction('async-exiter', 'exports.handler = async () => { process.exit(3) }'),
  )
  await c.createFunction(
    inlineFunction(
      'async-slow',
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 1 }',
      { strategy_config: { concurrency: 1 } },
    ),
  )
})
afterAll(async () => {
  await strato.close()
})

async function recordOf(urn: string, requestId: string): Promise<Record<string, any> | undefined> {
  const res = await client.listAsyncInvocations(
    new fg.ListAsyncInvocationsRequest().withFunctionUrn(urn).withRequestId(requestId),
  )
  return res.invocations?.[0]
}

async function waitForStatus(urn: string, requestId: string, status: string): Promise<any> {
  let last: any
  await waitFor(async () => {
    last = await recordOf(urn, requestId)
    return last?.status === status
  }, 20_000)
  return last
}

/** The §6.10 payloads the sink function received, from its invocation logs. */
async function sinkPayloads(): Promise<any[]> {
  const res = (await strato.client.logs(SINK, { limit: 100 })) as { logs: Array<{ log: string }> }
  return res.logs.flatMap((l) =>
    l.log
      .split('\n')
      .filter((line) => line.startsWith('DEST '))
      .map((line) => JSON.parse(line.slice(5))),
  )
}

describe('async invocation with the official SDK', () => {
  test('asyncInvokeFunction answers 202 with a request_id, and the event runs to SUCCESS', async () => {
    const res = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(OK).withBody({ hello: 'async' }),
    )
    expect(res.httpStatusCode).toBe(202)
    expect(res.request_id).toMatch(/^[0-9a-f-]{36}$/)
    const record = await waitForStatus(OK, res.request_id, 'SUCCESS')
    expect(record).toMatchObject({ error_code: 0, error_message: '' })
    expect(record.start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    expect(record.end_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    const logs = (await strato.client.logs(OK, { request_id: res.request_id })) as {
      logs: Array<{ attempt: number; log: string }>
    }
    expect(logs.logs.map((l) => l.attempt)).toEqual([1])
  })

  test('an event over 256 KiB is refused with 413, invalid JSON with 400', async () => {
    const big = { data: 'x'.repeat(256 * 1024) }
    const err = await sdkError(
      client.asyncInvokeFunction(
        new fg.AsyncInvokeFunctionRequest().withFunctionUrn(OK).withBody(big),
      ),
    )
    expect(err.httpStatusCode).toBe(413)
    expect(err.errorCode).toBe('FSS.0413')
    const missing = await sdkError(
      client.asyncInvokeFunction(
        new fg.AsyncInvokeFunctionRequest().withFunctionUrn(urnOf('nope')).withBody({}),
      ),
    )
    expect(missing.errorCode).toBe('FSS.1051')
  })

  test('async invoke config: update, show, list, delete', async () => {
    const body = new fg.UpdateFunctionAsyncInvokeConfigRequestBody()
      .withMaxAsyncEventAgeInSeconds(600)
      .withMaxAsyncRetryAttempts(2)
      .withEnableAsyncStatusLog(true)
      .withDestinationConfig(
        new fg.FuncAsyncDestinationConfig()
          .withOnSuccess(
            new fg.FuncDestinationConfig()
              .withDestination('FunctionGraph')
              .withParam(JSON.stringify({ func_urn: SINK })),
          )
          .withOnFailure(
            new fg.FuncDestinationConfig()
              .withDestination('FunctionGraph')
              .withParam(JSON.stringify({ func_urn: SINK })),
          ),
      )
    const updated = await client.updateFunctionAsyncInvokeConfig(
      new fg.UpdateFunctionAsyncInvokeConfigRequest().withFunctionUrn(FAILING).withBody(body),
    )
    expect(updated).toMatchObject({
      func_urn: FAILING,
      max_async_event_age_in_seconds: 600,
      max_async_retry_attempts: 2,
      enable_async_status_log: true,
      destination_config: {
        on_success: { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: SINK }) },
        on_failure: { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: SINK }) },
      },
    })
    expect(updated.created_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/)
    expect(updated.last_modified).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    const shown = await client.showFunctionAsyncInvokeConfig(
      new fg.ShowFunctionAsyncInvokeConfigRequest().withFunctionUrn(FAILING),
    )
    expect(shown).toMatchObject({
      max_async_retry_attempts: 2,
      max_async_event_age_in_seconds: 600,
    })
    const listed = await client.listFunctionAsyncInvokeConfig(
      new fg.ListFunctionAsyncInvokeConfigRequest().withFunctionUrn(FAILING),
    )
    expect(listed.count).toBe(1)
    expect(listed.async_invoke_configs[0].func_urn).toBe(FAILING)
    expect(listed.page_info).toMatchObject({ current_count: 1 })

    // Out of range values and destinations Strato cannot deliver to are refused.
    const bad = await sdkError(
      client.updateFunctionAsyncInvokeConfig(
        new fg.UpdateFunctionAsyncInvokeConfigRequest()
          .withFunctionUrn(OK)
          .withBody({ max_async_event_age_in_seconds: 600, max_async_retry_attempts: 4 }),
      ),
    )
    expect([bad.httpStatusCode, bad.errorCode]).toEqual([400, 'FSS.0400'])
    const obs = await sdkError(
      client.updateFunctionAsyncInvokeConfig(
        new fg.UpdateFunctionAsyncInvokeConfigRequest().withFunctionUrn(OK).withBody({
          max_async_event_age_in_seconds: 600,
          destination_config: { on_failure: { destination: 'OBS', param: '{"bucket":"b"}' } },
        }),
      ),
    )
    expect(obs.errorCode).toBe('FSS.0400')

    // Delete on a throwaway config, then show answers 404.
    await client.updateFunctionAsyncInvokeConfig(
      new fg.UpdateFunctionAsyncInvokeConfigRequest()
        .withFunctionUrn(SLOW)
        .withBody({ max_async_event_age_in_seconds: 60 }),
    )
    const deleted = await client.deleteFunctionAsyncInvokeConfig(
      new fg.DeleteFunctionAsyncInvokeConfigRequest().withFunctionUrn(SLOW),
    )
    expect(deleted.httpStatusCode).toBe(204)
    const gone = await sdkError(
      client.showFunctionAsyncInvokeConfig(
        new fg.ShowFunctionAsyncInvokeConfigRequest().withFunctionUrn(SLOW),
      ),
    )
    expect(gone.httpStatusCode).toBe(404)
  })

  test('a failing function runs 1 + max_async_retry_attempts times, then goes to on_failure and the dead-letter list', async () => {
    const res = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(FAILING).withBody({ n: 1 }),
    )
    const id: string = res.request_id
    const record = await waitForStatus(FAILING, id, 'FAIL')
    expect(record.error_code).toBe(500)
    expect(record.error_message).toContain('always fails')
    expect(record.attempts).toBe(3)
    const logs = (await strato.client.logs(FAILING, { request_id: id })) as {
      logs: Array<{ attempt: number; status: string }>
    }
    expect(logs.logs.map((l) => l.attempt).sort()).toEqual([1, 2, 3])
    expect(logs.logs.every((l) => l.status === 'error')).toBe(true)

    let dest: any
    await waitFor(async () => {
      dest = (await sinkPayloads()).find((p) => p.request_context?.request_id === id)
      return dest !== undefined
    }, 20_000)
    expect(dest).toMatchObject({
      request_context: {
        request_id: id,
        function_urn: FAILING,
        condition: 'UnhandledInvocationError',
        approximate_invoke_count: 3,
      },
      request_payload: JSON.stringify({ n: 1 }),
      response_context: { status_code: 500, function_error: 'Error' },
    })
    expect(typeof dest.timestamp).toBe('string')
    expect(JSON.parse(dest.response_payload).errorMessage).toBe('always fails')

    const dlq = (await strato.client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${FAILING}/async-dead-letters`,
    )) as { status: number; body: Buffer }
    const letters = JSON.parse(dlq.body.toString()) as { dead_letters: any[]; count: number }
    expect(letters.dead_letters.map((d) => d.request_id)).toContain(id)
  })

  test('a success goes to on_success with the result as response_payload', async () => {
    await client.updateFunctionAsyncInvokeConfig(
      new fg.UpdateFunctionAsyncInvokeConfigRequest().withFunctionUrn(OK).withBody({
        max_async_event_age_in_seconds: 600,
        destination_config: {
          on_success: { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: SINK }) },
        },
      }),
    )
    const res = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(OK).withBody({ k: 'v' }),
    )
    const id: string = res.request_id
    await waitForStatus(OK, id, 'SUCCESS')
    let dest: any
    await waitFor(async () => {
      dest = (await sinkPayloads()).find((p) => p.request_context?.request_id === id)
      return dest !== undefined
    }, 20_000)
    expect(dest).toMatchObject({
      request_context: { request_id: id, condition: '', approximate_invoke_count: 1 },
      request_payload: '{"k":"v"}',
      response_context: { status_code: 200, function_error: '' },
      response_payload: JSON.stringify({ echo: { k: 'v' } }),
    })
  })

  test('a waiting invocation can be cancelled; it never runs and is recorded as FAIL 4208', async () => {
    // Max instances 1: async gets one slot, so the second event waits behind the first.
    const first = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(SLOW).withBody({ i: 1 }),
    )
    const second = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(SLOW).withBody({ i: 2 }),
    )
    await waitForStatus(SLOW, first.request_id, 'RUNNING')
    const active = await client.listActiveAsyncInvocations(
      new fg.ListActiveAsyncInvocationsRequest().withFunctionUrn(SLOW),
    )
    expect(active.invocations.map((r: any) => r.status).sort()).toEqual(['RUNNING', 'WAIT'])
    const cancelled = await client.cancelAsyncInvocation(
      new fg.CancelAsyncInvocationRequest()
        .withFunctionUrn(SLOW)
        .withBody(new fg.CancelAsyncInvocationRequestBody().withRequestId(second.request_id)),
    )
    expect(cancelled.httpStatusCode).toBe(200)
    const record = await recordOf(SLOW, second.request_id)
    expect(record).toMatchObject({
      status: 'FAIL',
      error_code: 4208,
      error_message: 'function invocation canceled',
    })
    const again = await sdkError(
      client.cancelAsyncInvocation(
        new fg.CancelAsyncInvocationRequest()
          .withFunctionUrn(SLOW)
          .withBody(new fg.CancelAsyncInvocationRequestBody().withRequestId(second.request_id)),
      ),
    )
    expect([again.httpStatusCode, again.errorCode]).toEqual([400, 'FSS.0400'])
    await waitForStatus(SLOW, first.request_id, 'SUCCESS')
    const logs = (await strato.client.logs(SLOW, { request_id: second.request_id })) as {
      logs: unknown[]
    }
    expect(logs.logs).toEqual([])
  })

  test('records list by status with marker and limit', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await client.asyncInvokeFunction(
            new fg.AsyncInvokeFunctionRequest().withFunctionUrn(OK).withBody({ i }),
          )
        ).request_id,
      )
    }
    for (const id of ids) {
      await waitForStatus(OK, id, 'SUCCESS')
    }
    const page1 = await client.listAsyncInvocations(
      new fg.ListAsyncInvocationsRequest().withFunctionUrn(OK).withStatus('SUCCESS').withLimit('3'),
    )
    expect(page1.invocations).toHaveLength(3)
    expect(page1.count).toBeGreaterThanOrEqual(5)
    expect(page1.next_marker).toBe(3)
    const page2 = await client.listAsyncInvocations(
      new fg.ListAsyncInvocationsRequest()
        .withFunctionUrn(OK)
        .withStatus('SUCCESS')
        .withMarker('3')
        .withLimit('3'),
    )
    const seen = [...page1.invocations, ...page2.invocations].map((r: any) => r.request_id)
    expect(new Set(seen).size).toBe(seen.length)
    const failed = await client.listAsyncInvocations(
      new fg.ListAsyncInvocationsRequest().withFunctionUrn(OK).withStatus('FAIL'),
    )
    expect(failed.invocations).toEqual([])
  })

  test('an instance killed under the function is a system error: retried until the max age, then DISCARD', async () => {
    await client.updateFunctionAsyncInvokeConfig(
      new fg.UpdateFunctionAsyncInvokeConfigRequest()
        .withFunctionUrn(CRASHER)
        .withBody({ max_async_event_age_in_seconds: 2, max_async_retry_attempts: 0 }),
    )
    const res = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(CRASHER).withBody({ crash: true }),
    )
    const record = await waitForStatus(CRASHER, res.request_id, 'DISCARD')
    expect(record.error_code).toBe(408)
    expect(record.error_message).toContain('RuntimeExitError')
    // With no retries allowed, a function error would have ended it after one attempt.
    expect(record.attempts).toBeGreaterThan(1)
    const dlq = await strato.client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${CRASHER}/async-dead-letters`,
    )
    const letters = JSON.parse(dlq.body.toString()) as { dead_letters: any[] }
    expect(letters.dead_letters[0].record.request_context).toMatchObject({
      request_id: res.request_id,
      condition: 'EventAgeExceeded',
    })
  })

  test('a function that exits its own process is a function error: FAIL after its retries', async () => {
    await client.updateFunctionAsyncInvokeConfig(
      new fg.UpdateFunctionAsyncInvokeConfigRequest()
        .withFunctionUrn(EXITER)
        .withBody({ max_async_event_age_in_seconds: 60, max_async_retry_attempts: 1 }),
    )
    const res = await client.asyncInvokeFunction(
      new fg.AsyncInvokeFunctionRequest().withFunctionUrn(EXITER).withBody({}),
    )
    const record = await waitForStatus(EXITER, res.request_id, 'FAIL')
    expect(record).toMatchObject({ error_code: 500, attempts: 2 })
    expect(record.error_message).toContain('exit code 3')
  })
})
