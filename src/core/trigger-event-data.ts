/**
 * @module The `event_data` of each trigger type as FunctionGraph documents it (reference §4.4), the
 * settings a stored trigger carries. A type's source checks and normalises its own (see
 * `ServedTriggerTypes`); a type the reference does not describe is a generic record.
 */

export const APIG_METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'PATCH',
  'OPTIONS',
  'ANY',
] as const
export type ApigMethod = (typeof APIG_METHODS)[number]
export type ApigAuth = 'NONE' | 'APP' | 'IAM'

/**
 * The `event_data` fields that are secrets (broker and database passwords): sealed at rest like
 * encrypted variables, masked in every response.
 */
export const SECRET_EVENT_DATA_FIELDS = [
  'access_password',
  'secret_key',
  'kafka_password',
  'db_password',
] as const

/** An APIG or DEDICATEDGATEWAY trigger's settings as Strato keeps them (normalised). */
export interface ApigEventData {
  readonly name: string
  /** `/a/{id}/b` style; `{name+}` as the last segment matches the rest of the path. */
  readonly path: string
  readonly req_method: ApigMethod
  readonly auth: ApigAuth
  /** `SWA`: the path is a prefix; `NORMAL`: it must match exactly. */
  readonly match_mode: 'SWA' | 'NORMAL'
  readonly protocol: 'HTTP' | 'HTTPS'
  readonly env_name: string
  readonly env_id: string
  readonly group_id: string
  readonly group_name: string
  readonly type: number
  readonly func_info: {
    readonly timeout: number
    readonly invocation_type: 'sync' | 'async'
  }
}

/** TIMER: `Rate` is `<n>m` (1-60), `<n>h` (1-24) or `<n>d` (1-30); `Cron` has seconds first. */
export interface TimerEventData {
  readonly name: string
  readonly schedule_type: 'Rate' | 'Cron'
  readonly schedule: string
  /** Handed to the function as the event's `user_event` (reference §6.2). */
  readonly user_event?: string
}

export interface ObsEventData {
  readonly name: string
  readonly bucket: string
  /** `s3:ObjectCreated:*` style. */
  readonly events: readonly string[]
  readonly prefix: string
  readonly suffix: string
}

export interface SmnEventData {
  readonly topic_urn: string
}

export interface LtsEventData {
  readonly log_group_id: string
  readonly log_topic_id: string
}

export interface CtsEventData {
  readonly name: string
  /** `<service>:<resource_type>:<trace_name>` entries. */
  readonly operations: readonly string[]
}

/** KAFKA (DMS for Kafka, by `instance_id`) and OPENSOURCEKAFKA (by `kafka_connect_address`). */
export interface KafkaEventData {
  readonly instance_id?: string
  readonly kafka_connect_address?: string
  readonly topic_ids: readonly string[]
  readonly batch_size: number
  readonly kafka_user?: string
  readonly kafka_password?: string
  readonly kafka_ssl_enable?: boolean
}

/** RABBITMQ and ROCKETMQ: RabbitMQ names `access_user`/`access_password`, RocketMQ `access_key`/`secret_key`. */
export interface BrokerEventData {
  readonly instance_id?: string
  readonly connect_address?: string
  readonly batch_size?: number
  readonly enable_acl?: boolean
  readonly access_user?: string
  readonly access_password?: string
  readonly access_key?: string
  readonly secret_key?: string
  readonly exchange_name?: string
  readonly vhost?: string
  readonly ssl_enable?: boolean
  /** Strato addition (RABBITMQ): the key the trigger's queue is bound with, `#` by default. */
  readonly routing_key?: string
  /**
   * In order: one batch at a time, a failing batch retried before the next (RABBITMQ: a queue's
   * messages reach the function in the order the broker gives them, redeliveries aside).
   */
  readonly is_serial?: boolean
}

/** DMS, the legacy queue. */
export interface DmsEventData {
  readonly queue_id: string
  readonly consumer_group_id: string
  readonly polling_interval?: number
  readonly batch_size?: number
}

export interface DisEventData {
  readonly stream_name: string
  readonly sharditerator_type: 'TRIM_HORIZON' | 'LATEST'
  readonly polling_interval?: number
  readonly polling_unit?: 's' | 'ms'
  readonly max_fetch_bytes?: number
  readonly batch_size?: number
  readonly is_serial?: 'true' | 'false'
}

/** DDS and GAUSSMONGO: a collection's change stream; `batch_size` 1 to 10000. */
export interface DdsEventData {
  readonly instance_id: string
  readonly collection_name: string
  readonly db_name: string
  readonly db_password?: string
  readonly batch_size?: number
}

export interface EventGridEventData {
  readonly channel_name: string
  readonly channel_id: string
  readonly source_name: string
  readonly event_types: readonly string[]
  readonly agency?: string
  readonly trigger_name?: string
  readonly status?: string
}

/** A type whose settings the reference does not describe (APIC, IOTDA). */
export type GenericEventData = Readonly<Record<string, unknown>>

/** Each `trigger_type_code`'s `event_data`. */
export interface TriggerEventDataByType {
  readonly TIMER: TimerEventData
  readonly APIG: ApigEventData
  readonly DEDICATEDGATEWAY: ApigEventData
  readonly CTS: CtsEventData
  readonly DDS: DdsEventData
  readonly GAUSSMONGO: DdsEventData
  readonly DMS: DmsEventData
  readonly DIS: DisEventData
  readonly LTS: LtsEventData
  readonly OBS: ObsEventData
  readonly SMN: SmnEventData
  readonly KAFKA: KafkaEventData
  readonly OPENSOURCEKAFKA: KafkaEventData
  readonly RABBITMQ: BrokerEventData
  readonly ROCKETMQ: BrokerEventData
  readonly EVENTGRID: EventGridEventData
  readonly APIC: GenericEventData
  readonly IOTDA: GenericEventData
}
