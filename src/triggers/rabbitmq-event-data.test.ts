import { expect, test } from 'vitest'
import {
  parseRabbitmqEventData,
  rabbitmqEvent,
  rabbitmqQueueName,
  rabbitmqSettingsOf,
} from './rabbitmq-event-data.js'

const minimal = { connect_address: '10.0.0.5:5672', exchange_name: 'orders' }

test('RABBITMQ event_data: defaults are filled in (vhost /, routing key #, batch 100, no TLS)', () => {
  expect(parseRabbitmqEventData(minimal)).toEqual({
    connect_address: '10.0.0.5:5672',
    vhost: '/',
    exchange_name: 'orders',
    routing_key: '#',
    access_user: '',
    access_password: '',
    ssl_enable: false,
    enable_acl: false,
    batch_size: 100,
  })
})

test('RABBITMQ event_data: given fields are kept, booleans may come as strings, is_serial makes the consumer serial', () => {
  const parsed = parseRabbitmqEventData({
    ...minimal,
    instance_id: 'dms-1',
    vhost: 'shop',
    routing_key: 'order.*',
    access_user: 'u',
    access_password: 'p',
    ssl_enable: 'true',
    batch_size: 1,
    is_serial: 'true',
  })
  expect(parsed).toMatchObject({
    is_serial: true,
    instance_id: 'dms-1',
    vhost: 'shop',
    routing_key: 'order.*',
    access_user: 'u',
    access_password: 'p',
    ssl_enable: true,
    batch_size: 1,
  })
  expect(rabbitmqSettingsOf(parsed)).toEqual({
    host: '10.0.0.5',
    port: 5672,
    vhost: 'shop',
    exchange: 'orders',
    routingKey: 'order.*',
    user: 'u',
    password: 'p',
    tls: true,
    batchSize: 1,
    serial: true,
  })
})

test('RABBITMQ event_data: a bare host takes 5672, or 5671 with TLS; IPv6 in brackets', () => {
  const bare = parseRabbitmqEventData({ ...minimal, connect_address: 'mq.internal' })
  expect(rabbitmqSettingsOf(bare)).toMatchObject({ host: 'mq.internal', port: 5672 })
  const tls = parseRabbitmqEventData({ ...minimal, connect_address: 'mq', ssl_enable: true })
  expect(rabbitmqSettingsOf(tls)).toMatchObject({ port: 5671, tls: true })
  const v6 = parseRabbitmqEventData({ ...minimal, connect_address: '[::1]:5673' })
  expect(rabbitmqSettingsOf(v6)).toMatchObject({ host: '::1', port: 5673 })
})

test.each([
  [null, 'must be an object'],
  [[], 'must be an object'],
  [{ exchange_name: 'x' }, 'connect_address is required'],
  [{ ...minimal, connect_address: 'a:b:c' }, 'must be host:port'],
  [{ ...minimal, connect_address: 'h:70000' }, 'must be host:port'],
  [{ ...minimal, exchange_name: '' }, 'exchange_name is required'],
  [{ ...minimal, batch_size: 0 }, 'batch_size must be an integer from 1 to 10000'],
  [{ ...minimal, batch_size: 10_001 }, 'batch_size must be an integer from 1 to 10000'],
  [{ ...minimal, batch_size: 2.5 }, 'batch_size must be an integer'],
  [{ ...minimal, ssl_enable: 'yes' }, 'ssl_enable must be a boolean'],
  [{ ...minimal, vhost: 7 }, 'vhost must be a string'],
])('RABBITMQ event_data: %j is refused (%s) with FSS.0400', (raw, message) => {
  expect(() => parseRabbitmqEventData(raw)).toThrow(message)
  try {
    parseRabbitmqEventData(raw)
  } catch (err) {
    expect(err).toMatchObject({ code: 'INVALID_PARAMETER' })
  }
})

test('RABBITMQ event: the broker event shape with RabbitMQ record fields, bodies as UTF-8 text', () => {
  const event = JSON.parse(
    rabbitmqEvent({
      region: 'local-1',
      triggerId: 'trig-1',
      exchange: 'orders',
      vhost: '/',
      bodies: [Buffer.from('{"id":1}'), Buffer.from('héllo')],
      nowMs: 1_700_000_000_999,
    }).toString('utf8'),
  ) as unknown
  expect(event).toEqual({
    event_version: 'v1.0',
    event_time: 1_700_000_000,
    trigger_type: 'RABBITMQ',
    region: 'local-1',
    instance_id: 'trig-1',
    records: [{ messages: ['{"id":1}', 'héllo'], exchange_name: 'orders', vhost: '/' }],
  })
})

test('RABBITMQ queue: one per trigger, named for it', () => {
  expect(rabbitmqQueueName('abc')).toBe('strato.trigger.abc')
})
