import { expect, test } from 'vitest'
import { StratoError } from './errors.js'
import {
  parseTriggerInput,
  type ServedTriggerTypes,
  type TriggerEventData,
  type TriggerTypeCode,
} from './trigger.js'

/** Serves `types`, taking any object as `event_data` and recording what it was asked to check. */
function servedBy(types: TriggerTypeCode[], asked: string[] = []): ServedTriggerTypes {
  return {
    types,
    parseEventData(typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
      asked.push(typeCode)
      if (raw === null || typeof raw !== 'object') {
        throw new StratoError('INVALID_APIG_TRIGGER', `${typeCode}: event_data must be an object`)
      }
      return { ...(raw as Record<string, unknown>), checked: true }
    },
  }
}

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn()
  } catch (err) {
    if (err instanceof StratoError) {
      return { code: err.code, message: err.message }
    }
    throw err
  }
  throw new Error('not refused')
}

test('parseTriggerInput: a type is created only if a registered source serves it; that source checks its event_data', () => {
  const asked: string[] = []
  const served = [servedBy(['APIG', 'DEDICATEDGATEWAY']), servedBy(['TIMER'], asked)]
  const timer = parseTriggerInput(
    {
      trigger_type_code: 'TIMER',
      event_data: { name: 'every_minute', schedule_type: 'Rate', schedule: '1m' },
    },
    served,
  )
  expect(asked).toEqual(['TIMER'])
  expect(timer).toEqual({
    typeCode: 'TIMER',
    status: 'ACTIVE',
    eventTypeCode: '',
    eventData: { name: 'every_minute', schedule_type: 'Rate', schedule: '1m', checked: true },
  })
  expect(refusal(() => parseTriggerInput({ trigger_type_code: 'TIMER' }, served))).toEqual({
    code: 'INVALID_APIG_TRIGGER',
    message: 'TIMER: event_data must be an object',
  })
})

test('parseTriggerInput: a type no source serves is refused by name, listing the served ones', () => {
  const body = { trigger_type_code: 'RABBITMQ', event_data: {} }
  expect(refusal(() => parseTriggerInput(body, [servedBy(['APIG', 'DEDICATEDGATEWAY'])]))).toEqual({
    code: 'INVALID_TRIGGER_TYPE',
    message:
      'Trigger type RABBITMQ is not served by this Strato yet; it serves APIG and DEDICATEDGATEWAY.',
  })
  const three = [servedBy(['APIG', 'DEDICATEDGATEWAY']), servedBy(['TIMER'])]
  expect(refusal(() => parseTriggerInput(body, three)).message).toContain(
    'it serves APIG, DEDICATEDGATEWAY and TIMER.',
  )
  expect(refusal(() => parseTriggerInput({ trigger_type_code: 'FTP' }, three)).code).toBe(
    'INVALID_TRIGGER_TYPE',
  )
})
