/**
 * Saved test events and resource tags through the official SDK (issue 6, first part).
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64, inlineFunction } from '../helpers/code.js'

const URN = `urn:fss:local-1:${PROJECT_ID}:function:default:tagged:latest`
let strato: TestStrato
let client: any
let funcId = ''

beforeAll(async () => {
  strato = await startTestStrato()
  client = sdkClient(strato.url)
  funcId = String(
    (
      await strato.client.createFunction(
        inlineFunction('tagged', 'exports.handler = async (e) => e'),
      )
    ).func_id,
  )
})
afterAll(async () => {
  await strato.close()
})

test('test events: create, list, show, update, delete; size, count and unknown ids give FSS.1069 / FSS.1068 / FSS.1070', async () => {
  const content = b64(JSON.stringify({ hello: 'event' }))
  const created = await client.createEvent(
    new fg.CreateEventRequest()
      .withFunctionUrn(URN)
      .withBody(new fg.CreateEventRequestBody().withName('greet').withContent(content)),
  )
  expect(created).toMatchObject({ name: 'greet' })
  expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
  const list = await client.listEvents(new fg.ListEventsRequest().withFunctionUrn(URN))
  expect(list.count).toBe(1)
  expect(list.events[0]).toMatchObject({ id: created.id, name: 'greet' })
  const shown = await client.showEvent(
    new fg.ShowEventRequest().withFunctionUrn(URN).withEventId(created.id),
  )
  expect(Buffer.from(shown.content, 'base64').toString()).toBe('{"hello":"event"}')
  // A saved event is what one invokes the function with.
  const res = await strato.client.invoke('tagged', Buffer.from(shown.content, 'base64').toString())
  expect(JSON.parse(res.result)).toEqual({ hello: 'event' })
  await client.updateEvent(
    new fg.UpdateEventRequest()
      .withFunctionUrn(URN)
      .withEventId(created.id)
      .withBody(new fg.UpdateEventRequestBody().withContent(b64('{"v":2}'))),
  )
  const updated = await client.showEvent(
    new fg.ShowEventRequest().withFunctionUrn(URN).withEventId(created.id),
  )
  expect(Buffer.from(updated.content, 'base64').toString()).toBe('{"v":2}')
  const big = await sdkError(
    client.createEvent(
      new fg.CreateEventRequest()
        .withFunctionUrn(URN)
        .withBody(
          new fg.CreateEventRequestBody()
            .withName('big')
            .withContent(b64(JSON.stringify({ x: 'y'.repeat(5000) }))),
        ),
    ),
  )
  expect([big.httpStatusCode, big.errorCode]).toEqual([403, 'FSS.1069'])
  for (let i = 1; i < 10; i++) {
    await strato.client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/tagged/events`,
      JSON.stringify({ name: `e${i}`, content: content }),
    )
  }
  const eleventh = await sdkError(
    client.createEvent(
      new fg.CreateEventRequest()
        .withFunctionUrn(URN)
        .withBody(new fg.CreateEventRequestBody().withName('e10').withContent(content)),
    ),
  )
  expect([eleventh.httpStatusCode, eleventh.errorCode]).toEqual([403, 'FSS.1068'])
  const del = await client.deleteEvent(
    new fg.DeleteEventRequest().withFunctionUrn(URN).withEventId(created.id),
  )
  expect(del.httpStatusCode).toBe(204)
  const gone = await sdkError(
    client.showEvent(new fg.ShowEventRequest().withFunctionUrn(URN).withEventId(created.id)),
  )
  expect([gone.httpStatusCode, gone.errorCode]).toEqual([404, 'FSS.1070'])
})

test('tags: create by function id, list, project keys, delete; at most 20 per function', async () => {
  const tagBody = (action: string, tags: Array<[string, string?]>) =>
    new fg.UpdateFunctionTagsRequestBody()
      .withAction(action)
      .withTags(tags.map(([k, v]) => new fg.KvItem().withKey(k).withValue(v)))
  const created = await client.createTags(
    new fg.CreateTagsRequest()
      .withResourceType('functions')
      .withResourceId(funcId)
      .withBody(
        tagBody('create', [
          ['team', 'payments'],
          ['env', 'prod'],
        ]),
      ),
  )
  expect(created.httpStatusCode).toBe(204)
  const listed = await client.listFunctionTags(
    new fg.ListFunctionTagsRequest().withResourceType('functions').withResourceId(funcId),
  )
  expect(listed.tags).toEqual([
    { key: 'env', value: 'prod' },
    { key: 'team', value: 'payments' },
  ])
  // The URN names the same resource.
  const byUrn = await strato.client.raw('GET', `/v2/${PROJECT_ID}/functions/${URN}/tags`)
  expect(JSON.parse(byUrn.body.toString()).tags).toHaveLength(2)
  const project = await strato.client.raw('GET', `/v2/${PROJECT_ID}/functions/tags`)
  expect(JSON.parse(project.body.toString()).tags).toEqual([
    { key: 'env', values: ['prod'] },
    { key: 'team', values: ['payments'] },
  ])
  await client.deleteTags(
    new fg.DeleteTagsRequest()
      .withResourceType('functions')
      .withResourceId(funcId)
      .withBody(tagBody('delete', [['env']])),
  )
  const after = await client.listFunctionTags(
    new fg.ListFunctionTagsRequest().withResourceType('functions').withResourceId(funcId),
  )
  expect(after.tags).toEqual([{ key: 'team', value: 'payments' }])
  const many = Array.from({ length: 20 }, (_, i): [string, string] => [`k${i}`, 'v'])
  const tooMany = await sdkError(
    client.createTags(
      new fg.CreateTagsRequest()
        .withResourceType('functions')
        .withResourceId(funcId)
        .withBody(tagBody('create', many)),
    ),
  )
  expect([tooMany.httpStatusCode, tooMany.errorCode]).toEqual([403, 'FSS.0403'])
  const bad = await sdkError(
    client.createTags(
      new fg.CreateTagsRequest()
        .withResourceType('functions')
        .withResourceId(funcId)
        .withBody(tagBody('create', [['bad key!', 'v']])),
    ),
  )
  expect([bad.httpStatusCode, bad.errorCode]).toEqual([400, 'FSS.0400'])
})
