/**
 * Logs as FunctionGraph exposes them, through the official SDK (enableLtsLogs,
 * enableAsyncStatusLog, showProjectAsyncStatusLogInfo, showLtsLogDetails), and Strato's log
 * searches (`…/logs` filters and paging, `…/async-status-logs`) over a real server.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { JsonObject } from '../../src/client/index.js'
import fs from 'node:fs'
import { PROJECT_ID, startTestStrato, tmpDir, waitFor, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

let strato: TestStrato
let client: any

const urnOf = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

// Writes a line at the level the event names (the logger's own format), then fails if asked.
const LOGGING_SOURCE = `
exports.handler = async (event, context) => {
  const log = context.getLogger()
  log.setLevel('DEBUG')
  log[event.level](event.text)
  if (event.fail) throw new Error('asked to fail: ' + event.text)
  return event.text
}
`

// A data dir of the test's own: the async status log switch is checked across a restart.
const dataDir = tmpDir()

beforeAll(async () => {
  strato = await startTestStrato({}, dataDir)
  client = sdkClient(strato.url)
  await strato.client.createFunction(inlineFunction('log-search', LOGGING_SOURCE))
  await strato.client.createFunction(inlineFunction('log-async', LOGGING_SOURCE))
  // One instance at a time: a second event waits behind the first and can be cancelled.
  await strato.client.createFunction(
    inlineFunction(
      'log-slow',
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 1 }',
      { strategy_config: { concurrency: 1 } },
    ),
  )
  await client.updateFunctionAsyncInvokeConfig(
    new fg.UpdateFunctionAsyncInvokeConfigRequest()
      .withFunctionUrn(urnOf('log-async'))
      .withBody(new fg.UpdateFunctionAsyncInvokeConfigRequestBody().withMaxAsyncRetryAttempts(0)),
  )
})
afterAll(async () => {
  await strato.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

const invoke = (name: string, event: object): Promise<any> =>
  client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urnOf(name))
      .withXCFFRequestVersion('v1')
      .withBody(event),
  )

const search = (name: string, query: Record<string, string | number | undefined>) =>
  strato.client.logs(urnOf(name), query) as Promise<JsonObject & { logs: JsonObject[] }>

test('enableLtsLogs answers 200 every time: logs are always on, in the group showLtsLogDetails names', async () => {
  for (let i = 0; i < 2; i++) {
    const res = await client.enableLtsLogs(new fg.EnableLtsLogsRequest())
    expect(res.httpStatusCode).toBe(200)
  }
  const raw = await strato.client.raw('POST', `/v2/${PROJECT_ID}/fgs/functions/enable-lts-logs`)
  expect(JSON.parse(raw.body.toString())).toMatchObject({
    enabled: true,
    always_on: true,
    group_id: PROJECT_ID,
  })
  const detail = await client.showLtsLogDetails(
    new fg.ShowLtsLogDetailsRequest().withFunctionUrn(urnOf('log-search')),
  )
  expect(detail).toMatchObject({
    group_id: PROJECT_ID,
    group_name: `functiongraph-${PROJECT_ID}`,
    stream_name: 'default-log-search',
  })
})

test('the log search filters by level, status, text, request id and time, and pages with next_marker', async () => {
  const ids: Record<string, string> = {}
  const events = [
    { key: 'debug', level: 'debug', text: 'probing the cache' },
    { key: 'info', level: 'info', text: 'hello world' },
    { key: 'warn', level: 'warn', text: 'disk nearly full' },
    { key: 'fail', level: 'info', text: 'bad input', fail: true },
    { key: 'error', level: 'error', text: 'hello again' },
  ]
  const before = Date.now()
  for (const e of events) {
    const res = await invoke('log-search', e)
    ids[e.key] = res.request_id as string
  }
  const keysOf = (page: { logs: JsonObject[] }): string[] =>
    page.logs.map((l) => Object.keys(ids).find((k) => ids[k] === l.request_id) ?? '?')

  // The unchanged answer: newest first.
  expect(keysOf(await search('log-search', {}))).toEqual(['error', 'fail', 'warn', 'info', 'debug'])
  expect(keysOf(await search('log-search', { level: 'warn' }))).toEqual(['error', 'fail', 'warn'])
  expect(keysOf(await search('log-search', { level: 'ERROR' }))).toEqual(['error', 'fail'])
  expect(keysOf(await search('log-search', { status: 'error' }))).toEqual(['fail'])
  expect(keysOf(await search('log-search', { contains: 'hello' }))).toEqual(['error', 'info'])
  expect(keysOf(await search('log-search', { contains: 'hello', level: 'ERROR' }))).toEqual([
    'error',
  ])
  expect(keysOf(await search('log-search', { request_id: ids.warn }))).toEqual(['warn'])
  expect(keysOf(await search('log-search', { start_time: Date.now() + 60_000 }))).toEqual([])
  expect(
    keysOf(await search('log-search', { start_time: new Date(before).toISOString(), limit: 1 })),
  ).toEqual(['error'])
  const failed = (await search('log-search', { status: 'error' })).logs[0]
  expect(failed?.log).toContain('asked to fail: bad input')
  expect(failed?.log).toMatch(/ ERROR /)

  // Paging, newest first: two entries a page until next_marker is ''.
  const seen: string[] = []
  let marker: string | undefined
  for (let i = 0; i < 5; i++) {
    const page = await search('log-search', { limit: 2, marker })
    seen.push(...keysOf(page))
    marker = page.next_marker as string
    if (marker === '') {
      break
    }
  }
  expect(seen).toEqual(['error', 'fail', 'warn', 'info', 'debug'])
  // In write order, a cursor at the end picks up what comes later.
  const asc = await search('log-search', { order: 'asc', limit: 10 })
  expect(keysOf(asc)).toEqual(['debug', 'info', 'warn', 'fail', 'error'])
  const later = await invoke('log-search', { level: 'info', text: 'later' })
  const next = await search('log-search', { order: 'asc', marker: asc.next_marker as string })
  expect(next.logs.map((l) => l.request_id)).toEqual([later.request_id])

  // Bad parameters are 400 FSS.1001 naming the parameter.
  for (const [query, name] of [
    [{ level: 'LOUD' }, 'level'],
    [{ status: 'maybe' }, 'status'],
    [{ start_time: 'yesterday' }, 'start_time'],
    [{ order: 'sideways' }, 'order'],
    [{ marker: 'xyz' }, 'marker'],
  ] as const) {
    await expect(search('log-search', query)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining(`'${name}'`),
    })
  }
})

const statusLog = async (query: Record<string, string> = {}): Promise<JsonObject[]> => {
  const qs = new URLSearchParams({ order: 'asc', limit: '500', ...query }).toString()
  const res = await strato.client.raw(
    'GET',
    `/v2/${PROJECT_ID}/fgs/functions/async-status-logs?${qs}`,
  )
  expect(res.status).toBe(200)
  return (JSON.parse(res.body.toString()) as { logs: JsonObject[] }).logs
}

const invokeAsync = async (event: object): Promise<string> => {
  const res = await client.asyncInvokeFunction(
    new fg.AsyncInvokeFunctionRequest().withFunctionUrn(urnOf('log-async')).withBody(event),
  )
  return res.request_id as string
}

const ended = (requestId: string): Promise<void> =>
  waitFor(async () => {
    const page = await strato.client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${urnOf('log-async')}/async-invocations?request_id=${requestId}`,
    )
    const status = (JSON.parse(page.body.toString()) as { invocations: JsonObject[] })
      .invocations[0]?.status
    return status === 'SUCCESS' || status === 'FAIL'
  }, 30_000)

test('enableAsyncStatusLog turns on the project’s async status stream, which showProjectAsyncStatusLogInfo names', async () => {
  // Off at first: no stream, and an async event leaves no status entries.
  const off = await client.showProjectAsyncStatusLogInfo(
    new fg.ShowProjectAsyncStatusLogInfoRequest(),
  )
  expect(off).toMatchObject({ group_id: '', stream_id: '' })
  const quiet = await invokeAsync({ level: 'info', text: 'unlogged' })
  await ended(quiet)
  expect(await statusLog({ request_id: quiet })).toEqual([])

  const enabled = await client.enableAsyncStatusLog(new fg.EnableAsyncStatusLogRequest())
  expect(enabled.httpStatusCode).toBe(200)
  const on = await client.showProjectAsyncStatusLogInfo(
    new fg.ShowProjectAsyncStatusLogInfoRequest(),
  )
  expect(on).toMatchObject({
    group_id: PROJECT_ID,
    group_name: `functiongraph-${PROJECT_ID}`,
    stream_id: `${PROJECT_ID}-async-status`,
    stream_name: 'functiongraph-async-status-log',
  })

  const ok = await invokeAsync({ level: 'info', text: 'fine' })
  const bad = await invokeAsync({ level: 'info', text: 'broken', fail: true })
  await ended(ok)
  await ended(bad)
  const statuses = async (id: string): Promise<string[]> =>
    (await statusLog({ request_id: id })).map((e) => `${String(e.status)}:${String(e.attempts)}`)
  // Entries are written just after each change: wait for the last one.
  await waitFor(async () => (await statuses(bad)).length === 3, 10_000)
  expect(await statuses(ok)).toEqual(['WAIT:0', 'RUNNING:1', 'SUCCESS:1'])
  // No retries allowed (max_async_retry_attempts 0): FAIL after one attempt.
  expect(await statuses(bad)).toEqual(['WAIT:0', 'RUNNING:1', 'FAIL:1'])
  const failEntry = (await statusLog({ request_id: bad, status: 'fail' }))[0]
  expect(failEntry).toMatchObject({ func_urn: urnOf('log-async'), error_code: 500 })
  expect(String(failEntry?.message)).toContain('asked to fail: broken')

  // A cancelled event ends outside the queue, and is in the stream all the same.
  const slow = urnOf('log-slow')
  const invokeSlow = async (): Promise<string> =>
    (
      await client.asyncInvokeFunction(
        new fg.AsyncInvokeFunctionRequest().withFunctionUrn(slow).withBody({}),
      )
    ).request_id as string
  const running = await invokeSlow()
  const waiting = await invokeSlow()
  await waitFor(
    async () => (await statusLog({ request_id: running, status: 'RUNNING' })).length === 1,
    15_000,
  )
  const cancelled = await client.cancelAsyncInvocation(
    new fg.CancelAsyncInvocationRequest()
      .withFunctionUrn(slow)
      .withBody(new fg.CancelAsyncInvocationRequestBody().withRequestId(waiting)),
  )
  expect(cancelled.httpStatusCode).toBe(200)
  await waitFor(async () => (await statuses(waiting)).length === 2, 10_000)
  expect(await statuses(waiting)).toEqual(['WAIT:0', 'FAIL:0'])
  expect((await statusLog({ request_id: waiting, status: 'FAIL' }))[0]).toMatchObject({
    error_code: 4208,
  })

  // The switch is durable: it holds across a restart.
  await strato.close()
  strato = await startTestStrato({}, dataDir)
  client = sdkClient(strato.url)
  const again = await client.showProjectAsyncStatusLogInfo(
    new fg.ShowProjectAsyncStatusLogInfoRequest(),
  )
  expect(again.stream_id).toBe(`${PROJECT_ID}-async-status`)
  expect(await statuses(ok)).toEqual(['WAIT:0', 'RUNNING:1', 'SUCCESS:1'])
})
