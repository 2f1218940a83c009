/**
 * @module The RABBITMQ trigger's `event_data` (reference §4.4) checked and normalised at create, the
 * event its function gets (the broker shape of §6.4 with RabbitMQ's `exchange_name` and `vhost`),
 * and the broker names Strato derives from a trigger.
 */
import { StratoError, type BrokerEventData } from '../core/index.js'

/** FunctionGraph's console offers 1 to 10000 messages per batch for its broker triggers. */
export const RABBITMQ_BATCH_SIZE_MIN = 1
export const RABBITMQ_BATCH_SIZE_MAX = 10_000
export const RABBITMQ_BATCH_SIZE_DEFAULT = 100
/** Strato addition: the binding key when `routing_key` is left out (every message of a topic exchange). */
export const RABBITMQ_DEFAULT_ROUTING_KEY = '#'

/** The settings a RabbitMQ consumer runs with: `BrokerEventData` with its defaults filled in. */
export interface RabbitmqSettings {
  readonly host: string
  readonly port: number
  readonly vhost: string
  readonly exchange: string
  readonly routingKey: string
  readonly user: string
  readonly password: string
  readonly tls: boolean
  readonly batchSize: number
  /** `is_serial`: one batch in flight, so batches run in the queue's order. */
  readonly serial: boolean
}

function fail(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', `RABBITMQ trigger: ${detail}`)
}

function optionalString(data: Record<string, unknown>, key: string, max: number): string {
  const v = data[key]
  if (v === undefined || v === null) {
    return ''
  }
  if (typeof v !== 'string' || v.length > max) {
    fail(`event_data.${key} must be a string of at most ${max} characters.`)
  }
  return v
}

function optionalBoolean(data: Record<string, unknown>, key: string): boolean {
  const v = data[key]
  if (v === undefined || v === null) {
    return false
  }
  // The console sends booleans; some SDK callers send "true"/"false".
  if (v === true || v === 'true') {
    return true
  }
  if (v === false || v === 'false') {
    return false
  }
  return fail(`event_data.${key} must be a boolean.`)
}

/** `host:port`, `[v6]:port` or a bare host (port 5672, or 5671 with TLS). */
function splitAddress(address: string, tls: boolean): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+))(?::(\d{1,5}))?$/.exec(address)
  const host = m?.[1] ?? m?.[2]
  const port = m?.[3] === undefined ? (tls ? 5671 : 5672) : Number(m[3])
  if (host === undefined || port < 1 || port > 65_535) {
    fail(`event_data.connect_address '${address}' must be host:port.`)
  }
  return { host, port }
}

/** Checks a create request's `event_data` and fills in the defaults. */
export function parseRabbitmqEventData(raw: unknown): BrokerEventData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('event_data must be an object with connect_address and exchange_name.')
  }
  const data = raw as Record<string, unknown>
  const connectAddress = optionalString(data, 'connect_address', 255).trim()
  if (connectAddress === '') {
    fail('event_data.connect_address is required (host:port of the broker).')
  }
  const sslEnable = optionalBoolean(data, 'ssl_enable')
  splitAddress(connectAddress, sslEnable)
  const exchangeName = optionalString(data, 'exchange_name', 255)
  if (exchangeName === '') {
    // The default exchange cannot be bound to: a trigger needs a named exchange.
    fail('event_data.exchange_name is required (an existing exchange of the vhost).')
  }
  const batch = data.batch_size ?? RABBITMQ_BATCH_SIZE_DEFAULT
  if (
    typeof batch !== 'number' ||
    !Number.isInteger(batch) ||
    batch < RABBITMQ_BATCH_SIZE_MIN ||
    batch > RABBITMQ_BATCH_SIZE_MAX
  ) {
    fail(
      `event_data.batch_size must be an integer from ${RABBITMQ_BATCH_SIZE_MIN} to ${RABBITMQ_BATCH_SIZE_MAX}.`,
    )
  }
  const routingKey = optionalString(data, 'routing_key', 255)
  const instanceId = optionalString(data, 'instance_id', 64)
  return {
    ...(instanceId === '' ? {} : { instance_id: instanceId }),
    connect_address: connectAddress,
    vhost: optionalString(data, 'vhost', 255) || '/',
    exchange_name: exchangeName,
    routing_key: routingKey === '' ? RABBITMQ_DEFAULT_ROUTING_KEY : routingKey,
    access_user: optionalString(data, 'access_user', 255),
    access_password: optionalString(data, 'access_password', 1024),
    ssl_enable: sslEnable,
    enable_acl: optionalBoolean(data, 'enable_acl'),
    batch_size: batch,
    ...(optionalBoolean(data, 'is_serial') ? { is_serial: true } : {}),
  }
}

/** The consumer settings of a stored trigger (its `event_data` was checked at create). */
export function rabbitmqSettingsOf(data: BrokerEventData): RabbitmqSettings {
  const tls = data.ssl_enable === true
  const { host, port } = splitAddress(data.connect_address ?? '', tls)
  return {
    host,
    port,
    vhost: data.vhost ?? '/',
    exchange: data.exchange_name ?? '',
    routingKey: data.routing_key ?? RABBITMQ_DEFAULT_ROUTING_KEY,
    user: data.access_user ?? '',
    password: data.access_password ?? '',
    tls,
    batchSize: data.batch_size ?? RABBITMQ_BATCH_SIZE_DEFAULT,
    serial: data.is_serial === true,
  }
}

/**
 * The queue Strato declares for a trigger: one per trigger, so two triggers on one exchange each
 * get every message, and a restart finds the messages that arrived while it was down.
 */
export function rabbitmqQueueName(triggerId: string): string {
  return `strato.trigger.${triggerId}`
}

/** The event of one batch (FunctionGraph's broker event, §6.4, with RabbitMQ's record fields). */
export function rabbitmqEvent(input: {
  readonly region: string
  readonly triggerId: string
  readonly exchange: string
  readonly vhost: string
  readonly bodies: readonly Buffer[]
  readonly nowMs: number
}): Buffer {
  return Buffer.from(
    JSON.stringify({
      event_version: 'v1.0',
      event_time: Math.floor(input.nowMs / 1000),
      trigger_type: 'RABBITMQ',
      region: input.region,
      instance_id: input.triggerId,
      records: [
        {
          messages: input.bodies.map((b) => b.toString('utf8')),
          exchange_name: input.exchange,
          vhost: input.vhost,
        },
      ],
    }),
    'utf8',
  )
}
