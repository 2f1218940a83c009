/**
 * LTS triggers (log subscriptions) through the official SDK: showLtsLogDetails names a function's
 * log group and stream; a subscriber function gets another function's new log lines in the §6.5
 * shape, asynchronously; a function cannot subscribe to itself, nor close a loop.
 */
import { expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { inlineFunction } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { PROJECT_ID, waitFor } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato({ STRATO_ASYNC_POLL_MS: '20' })
const { client } = strato

const SOURCE = `exports.handler = async (event) => {
  console.log('work item ' + event.n)
  return 'done ' + event.n
}`
// Prints the event it got: the log is the one channel out of the sandbox.
const SUBSCRIBER = `exports.handler = async (event) => {
  console.log('EVENT ' + JSON.stringify(event))
  return 'ok'
}`

interface LtsLine {
  message: string
  time: number
  host_name: string
  ip: string
  path: string
  log_uid: string
  line_no: number
}

/** The §6.5 events the subscriber logged, decoded. */
async function delivered(
  c: StratoClient,
  urn: string,
): Promise<Array<{ raw: unknown; data: Record<string, unknown>; lines: LtsLine[] }>> {
  const { logs } = (await c.logs(urn, { limit: 500 })) as { logs: Array<{ log: string }> }
  return logs.flatMap((entry) => {
    const line = entry.log.split('\n').find((l) => l.includes('EVENT {'))
    if (line === undefined) {
      return []
    }
    const raw = JSON.parse(line.slice(line.indexOf('{'))) as { lts: { data: string } }
    const data = JSON.parse(Buffer.from(raw.lts.data, 'base64').toString()) as Record<
      string,
      unknown
    >
    return [{ raw, data, lines: JSON.parse(String(data.logs)) as LtsLine[] }]
  })
}

function ltsTrigger(sdk: any, urn: string, groupId: string, streamId: string): Promise<any> {
  return sdk.createFunctionTrigger(
    new fg.CreateFunctionTriggerRequest()
      .withFunctionUrn(urn)
      .withBody(
        new fg.CreateFunctionTriggerRequestBody()
          .withTriggerTypeCode('LTS')
          .withTriggerStatus('ACTIVE')
          .withEventData(
            new fg.TriggerEventDataRequestBody().withLogGroupId(groupId).withLogTopicId(streamId),
          ),
      ),
  )
}

async function logDetail(sdk: any, urn: string): Promise<{ group: string; stream: string }> {
  const d = await sdk.showLtsLogDetails(new fg.ShowLtsLogDetailsRequest().withFunctionUrn(urn))
  return { group: String(d.group_id ?? d.groupId), stream: String(d.stream_id ?? d.streamId) }
}

test("a subscriber function receives another function's log lines in the §6.5 shape", async () => {
  const sdk = sdkClient(strato.url)
  await client.createFunction(inlineFunction('lts-source', SOURCE))
  await client.createFunction(inlineFunction('lts-subscriber', SUBSCRIBER))
  const sourceUrn = String((await client.showConfig('lts-source')).func_urn)
  const subscriberUrn = String((await client.showConfig('lts-subscriber')).func_urn)
  const sourceId = String((await client.showConfig('lts-source')).func_id)
  const detail = await logDetail(sdk, sourceUrn)
  expect(detail.stream).toBe(sourceId)
  await ltsTrigger(sdk, subscriberUrn, detail.group, detail.stream)

  const requestIds: string[] = []
  for (const n of [1, 2, 3]) {
    const res = await client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${sourceUrn}/invocations`,
      JSON.stringify({ n }),
    )
    expect(res.status).toBe(200)
    requestIds.push(res.headers.get('x-cff-request-id') ?? '')
  }
  await waitFor(
    async () =>
      (await delivered(client, subscriberUrn))
        .flatMap((d) => d.lines)
        .filter((l) => l.message.includes('work item')).length >= 3,
    20_000,
    200,
  )
  const events = await delivered(client, subscriberUrn)
  for (const e of events) {
    expect(Object.keys(e.raw as object)).toEqual(['lts'])
    expect(e.data).toMatchObject({
      owner: PROJECT_ID,
      log_group_id: detail.group,
      log_topic_id: detail.stream,
    })
    expect(typeof e.data.logs).toBe('string')
  }
  const lines = events.flatMap((e) => e.lines)
  const messages = lines.map((l) => l.message)
  for (const n of [1, 2, 3]) {
    expect(messages.filter((m) => m.endsWith(`work item ${n}`))).toHaveLength(1)
  }
  expect(requestIds.every((r) => r !== '')).toBe(true)
  for (const id of requestIds) {
    expect(messages.some((m) => m.includes(`Start invoke request '${id}'`))).toBe(true)
    expect(messages.some((m) => m.includes(`Finish invoke request '${id}'`))).toBe(true)
  }
  expect(lines[0]).toEqual({
    message: expect.any(String),
    time: expect.any(Number),
    host_name: expect.any(String),
    ip: '127.0.0.1',
    path: 'default-lts-source',
    log_uid: expect.any(String),
    line_no: 1,
  })
  // The subscriber's own logs are not delivered anywhere: nothing subscribes to them.
  expect(messages.some((m) => m.includes('EVENT'))).toBe(false)
})

test('a function cannot subscribe to its own logs, nor close a loop; a bad group or stream is refused (FSS.1110)', async () => {
  const sdk = sdkClient(strato.url)
  await client.createFunction(inlineFunction('lts-a', SUBSCRIBER))
  await client.createFunction(inlineFunction('lts-b', SUBSCRIBER))
  const a = String((await client.showConfig('lts-a')).func_urn)
  const b = String((await client.showConfig('lts-b')).func_urn)
  const da = await logDetail(sdk, a)
  const db = await logDetail(sdk, b)
  const self = await sdkError(ltsTrigger(sdk, a, da.group, da.stream))
  expect([self.httpStatusCode, self.errorCode]).toEqual([400, 'FSS.1110'])
  expect(self.errorMsg).toContain('own logs')
  await ltsTrigger(sdk, b, da.group, da.stream)
  const loop = await sdkError(ltsTrigger(sdk, a, db.group, db.stream))
  expect([loop.httpStatusCode, loop.errorCode]).toEqual([400, 'FSS.1110'])
  expect(loop.errorMsg).toContain('loop')
  const group = await sdkError(ltsTrigger(sdk, a, 'f'.repeat(32), db.stream))
  expect([group.httpStatusCode, group.errorCode]).toEqual([400, 'FSS.1110'])
  const stream = await sdkError(
    ltsTrigger(sdk, a, da.group, '00000000-0000-0000-0000-000000000000'),
  )
  expect([stream.httpStatusCode, stream.errorCode]).toEqual([400, 'FSS.1110'])
})
