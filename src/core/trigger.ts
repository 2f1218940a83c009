/**
 * @module Triggers (reference §4.4): the wire enums, the stored trigger as a union keyed on its type,
 * the port trigger changes travel through, and the create-request check. Which types are served,
 * and how each one's `event_data` is checked, comes from the trigger sources registered in
 * `main.ts` (`ServedTriggerTypes`): a type nothing serves is refused by name, never stored
 * without something that fires it.
 */
import { StratoError, type ErrorCode } from './errors.js'
import type { ApigEventData, TriggerEventDataByType } from './trigger-event-data.js'

/** Every `trigger_type_code` of the SDK's enum (plus the documented ROCKETMQ and IOTDA). */
export const TRIGGER_TYPE_CODES = [
  'TIMER',
  'APIG',
  'CTS',
  'DDS',
  'DMS',
  'DIS',
  'LTS',
  'OBS',
  'SMN',
  'KAFKA',
  'RABBITMQ',
  'DEDICATEDGATEWAY',
  'OPENSOURCEKAFKA',
  'APIC',
  'GAUSSMONGO',
  'EVENTGRID',
  'IOTDA',
  'ROCKETMQ',
] as const
export type TriggerTypeCode = (typeof TRIGGER_TYPE_CODES)[number]

/** Both API gateway flavours: one route table, one settings shape, app keys. */
export const APIG_TRIGGER_TYPES = ['APIG', 'DEDICATEDGATEWAY'] as const
export type ApigTriggerTypeCode = (typeof APIG_TRIGGER_TYPES)[number]

export type TriggerStatus = 'ACTIVE' | 'DISABLED'

/** Limits from FunctionGraph (reference §4.4, §9). */
export const TRIGGERS_PER_FUNCTION_VERSION = 10

/** The `event_data` of one type. */
export type TriggerEventDataOf<T extends TriggerTypeCode> = TriggerEventDataByType[T]
/** The `event_data` of any type. */
export type TriggerEventData = TriggerEventDataOf<TriggerTypeCode>

/** A create request, checked: `eventData` is the type's own, normalised by its source. */
export type TriggerInput = {
  readonly [T in TriggerTypeCode]: {
    readonly typeCode: T
    readonly status: TriggerStatus
    readonly eventTypeCode: string
    readonly eventData: TriggerEventDataOf<T>
  }
}[TriggerTypeCode]

/** What every stored trigger has, whatever its type. */
interface StoredTriggerFields {
  readonly id: string
  readonly projectId: string
  readonly functionId: string
  /** The version or alias the trigger invokes: `latest`, a version, or `!alias`. */
  readonly qualifier: string
  /** The function URN with that qualifier. */
  readonly functionUrn: string
  readonly status: TriggerStatus
  readonly eventTypeCode: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** A stored trigger of type `T`. */
export type StoredTrigger<T extends TriggerTypeCode> = StoredTriggerFields & {
  readonly typeCode: T
  readonly eventData: TriggerEventDataOf<T>
}

/** An APIG or DEDICATEDGATEWAY trigger: its route, and for `APP` auth its app's key pair. */
export type ApigTriggerRecord = StoredTriggerFields & {
  readonly typeCode: ApigTriggerTypeCode
  readonly eventData: ApigEventData
  /** APP auth: the app key and its secret (sealed at rest); '' otherwise. */
  readonly appKey: string
  readonly appSecret: string
}

type OtherTriggerTypeCode = Exclude<TriggerTypeCode, ApigTriggerTypeCode>

/** A stored trigger of any type, discriminated on `typeCode`. */
export type TriggerRecord =
  | ApigTriggerRecord
  | { readonly [T in OtherTriggerTypeCode]: StoredTrigger<T> }[OtherTriggerTypeCode]

export function isApigTriggerType(typeCode: string): typeCode is ApigTriggerTypeCode {
  return typeCode === 'APIG' || typeCode === 'DEDICATEDGATEWAY'
}

/** Narrows a trigger to the API gateway flavours. */
export function isApigTrigger(trigger: TriggerRecord): trigger is ApigTriggerRecord {
  return isApigTriggerType(trigger.typeCode)
}

/**
 * A trigger was created, changed (its status) or deleted. `trigger` is the record after the
 * change, or as it was before a delete.
 */
export interface TriggerChange {
  readonly kind: 'created' | 'updated' | 'deleted'
  readonly trigger: TriggerRecord
}

/**
 * A trigger's health as its source last reported it (`ok` when it never did): the API shows it as
 * `health` and `last_error`. `lastError` stays after recovery, with its time.
 */
export interface TriggerHealth {
  readonly health: 'ok' | 'failing'
  readonly lastError?: { readonly message: string; readonly at: string }
}

/**
 * Port: where trigger changes are heard. The embedded store delivers its own writes, at once and
 * in order; a cluster backend delivers every node's, so a source on any node hears them.
 */
export interface TriggerChangeFeed {
  /** Calls `listener` after every change; returns the unsubscribe. */
  onChange(listener: (change: TriggerChange) => void): () => void
}

/**
 * Trigger types something serves, and how each one's `event_data` is checked. Every trigger source
 * is one; the API takes the registered sources' list.
 */
export interface ServedTriggerTypes {
  readonly types: readonly TriggerTypeCode[]
  /**
   * Checks and normalises a create request's `event_data` for `typeCode` (one of `types`); throws
   * the type's FSS code. Must return that type's `event_data`.
   */
  parseEventData(typeCode: TriggerTypeCode, raw: unknown): TriggerEventData
  /**
   * Optional: what needs the store or the other triggers, checked after `parseEventData` and before
   * the trigger is stored or changed (an LTS subscription's log stream exists and makes no loop).
   * Throws the type's FSS code.
   */
  checkTarget?(trigger: TriggerTargetCheck): Promise<void>
}

/** A trigger about to be stored or changed, as `checkTarget` sees it. */
export interface TriggerTargetCheck {
  readonly typeCode: TriggerTypeCode
  readonly eventData: TriggerEventData
  readonly projectId: string
  /** The function the trigger invokes. */
  readonly functionId: string
  /** Set when an existing trigger is being changed. */
  readonly triggerId?: string
}

/** The FSS codes of one trigger type (reference §1.3): bad settings, a name taken, no such trigger. */
export interface TriggerErrorCodes {
  readonly invalid: ErrorCode
  readonly exists: ErrorCode
  readonly notFound: ErrorCode
}

/**
 * FunctionGraph has codes of its own for APIG, timer and LTS triggers; a type without them gets the
 * generic ones, never another type's.
 */
export function triggerErrorCodes(typeCode: string): TriggerErrorCodes {
  if (isApigTriggerType(typeCode)) {
    return {
      invalid: 'INVALID_APIG_TRIGGER',
      exists: 'APIG_TRIGGER_EXISTS',
      notFound: 'APIG_TRIGGER_NOT_FOUND',
    }
  }
  if (typeCode === 'TIMER') {
    return {
      invalid: 'INVALID_TIMER_TRIGGER',
      exists: 'TIMER_TRIGGER_EXISTS',
      notFound: 'TIMER_TRIGGER_NOT_FOUND',
    }
  }
  if (typeCode === 'LTS') {
    return {
      invalid: 'INVALID_LTS_TRIGGER',
      exists: 'LTS_TRIGGER_EXISTS',
      notFound: 'LTS_TRIGGER_NOT_FOUND',
    }
  }
  return { invalid: 'INVALID_PARAMETER', exists: 'RESOURCE_EXISTS', notFound: 'TRIGGER_NOT_FOUND' }
}

function fail(code: ErrorCode, detail: string): never {
  throw new StratoError(code, detail)
}

/** `A`, `A and B`, `A, B and C`. */
function listed(names: readonly string[]): string {
  return names.length <= 1
    ? (names[0] ?? 'no type')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] ?? ''}`
}

/**
 * Validates a create-trigger body (`trigger_type_code`, `trigger_status`, `event_data`): the type
 * must be one `served` lists, and its server checks the `event_data`.
 */
export function parseTriggerInput(
  body: unknown,
  served: readonly ServedTriggerTypes[],
): TriggerInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    fail('INVALID_TRIGGER_TYPE', 'The request body must be a JSON object.')
  }
  const b = body as Record<string, unknown>
  const typeCode = b.trigger_type_code
  if (
    typeof typeCode !== 'string' ||
    !(TRIGGER_TYPE_CODES as readonly string[]).includes(typeCode)
  ) {
    fail(
      'INVALID_TRIGGER_TYPE',
      `Invalid trigger_type_code ${JSON.stringify(typeCode)}: one of ${TRIGGER_TYPE_CODES.join(', ')}.`,
    )
  }
  const server = served.find((s) => s.types.includes(typeCode as TriggerTypeCode))
  if (server === undefined) {
    fail(
      'INVALID_TRIGGER_TYPE',
      `Trigger type ${typeCode} is not served by this Strato yet; it serves ${listed(served.flatMap((s) => s.types))}.`,
    )
  }
  const status = b.trigger_status ?? 'ACTIVE'
  if (status !== 'ACTIVE' && status !== 'DISABLED') {
    fail(triggerErrorCodes(typeCode).invalid, "trigger_status must be 'ACTIVE' or 'DISABLED'.")
  }
  const eventTypeCode = typeof b.event_type_code === 'string' ? b.event_type_code : ''
  // The server returns its own type's settings (its contract), so the pair is one union member.
  return {
    typeCode,
    status,
    eventTypeCode,
    eventData: server.parseEventData(typeCode as TriggerTypeCode, b.event_data),
  } as TriggerInput
}
