/**
 * Trigger changes through the API reach the change feed (the port a cluster backend will carry to
 * other nodes) once per trigger, with its record; only served types can be created.
 */
import { onTestFinished, expect, test } from 'vitest'
import type { TriggerChange } from '../../src/core/index.js'
import { inlineFunction } from '../helpers/code.js'
import { PROJECT_ID, startTestStrato } from '../helpers/strato.js'

const ECHO = `exports.handler = async () => ({ statusCode: 200, body: 'ok' })`

test('trigger changes: create, disable, delete and deleting the function each tell the feed once per trigger', async () => {
  const strato = await startTestStrato()
  onTestFinished(() => strato.close())
  const { client } = strato
  await client.createFunction(inlineFunction('feed', ECHO))
  const urn = String((await client.showConfig('feed')).func_urn)
  const base = `/v2/${PROJECT_ID}/fgs/triggers/${urn}`
  const heard: string[] = []
  const unsubscribe = strato.running.store.triggers.onChange(({ kind, trigger }: TriggerChange) => {
    const name = trigger.typeCode === 'APIG' ? trigger.eventData.name : '?'
    heard.push(`${kind} ${trigger.typeCode} ${name} ${trigger.status}`)
  })
  onTestFinished(unsubscribe)
  const create = async (name: string): Promise<string> => {
    const res = await client.raw(
      'POST',
      base,
      JSON.stringify({
        trigger_type_code: 'APIG',
        event_data: { name, path: `/feed/${name}`, auth: 'NONE' },
      }),
    )
    expect(res.status).toBe(201)
    return String((JSON.parse(res.body.toString()) as { trigger_id: string }).trigger_id)
  }
  const first = await create('first_api')
  const second = await create('second_api')
  const third = await create('third_api')
  const disabled = await client.raw(
    'PUT',
    `${base}/APIG/${first}`,
    JSON.stringify({ trigger_status: 'DISABLED' }),
  )
  expect(disabled.status).toBe(200)
  expect((await client.raw('DELETE', `${base}/APIG/${second}`)).status).toBe(204)
  await client.deleteFunction(urn)
  expect(heard.slice(0, 5)).toEqual([
    'created APIG first_api ACTIVE',
    'created APIG second_api ACTIVE',
    'created APIG third_api ACTIVE',
    'updated APIG first_api DISABLED',
    'deleted APIG second_api ACTIVE',
  ])
  // Deleting the function deletes its triggers: each one is heard of, as it was (in no set order).
  expect(heard.slice(5).sort()).toEqual([
    'deleted APIG first_api DISABLED',
    'deleted APIG third_api ACTIVE',
  ])
  expect(third).toMatch(/^[0-9a-f]{32}$/)
})

test('trigger types: a type no registered source serves is refused by name (FSS.1101), listing the served ones', async () => {
  const strato = await startTestStrato()
  onTestFinished(() => strato.close())
  const { client } = strato
  await client.createFunction(inlineFunction('unserved', ECHO))
  const urn = String((await client.showConfig('unserved')).func_urn)
  const res = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/triggers/${urn}`,
    JSON.stringify({
      trigger_type_code: 'KAFKA',
      event_data: { instance_id: 'i-1', topic_ids: ['orders'], batch_size: 10 },
    }),
  )
  expect(res.status).toBe(400)
  const refusal = JSON.parse(res.body.toString()) as { error_code: string; error_msg: string }
  expect(refusal.error_code).toBe('FSS.1101')
  expect(refusal.error_msg).toMatch(
    /^Trigger type KAFKA is not served by this Strato yet; it serves APIG, DEDICATEDGATEWAY, .*TIMER.* and .*\.$/,
  )
  expect(refusal.error_msg).toContain('LTS')
  expect(refusal.error_msg).toContain('RABBITMQ')
  const list = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/triggers/${urn}`)
  expect(JSON.parse(list.body.toString())).toEqual([])
})
