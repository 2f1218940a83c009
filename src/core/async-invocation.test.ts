import { expect, test } from 'vitest'
import { parseAsyncInvokeConfig } from './async-invocation.js'
import { isStratoError } from './errors.js'

const SINK = 'urn:fss:r1:p1:function:default:sink:latest'

function codeOf(body: Record<string, unknown>): string | undefined {
  try {
    parseAsyncInvokeConfig(body)
  } catch (err) {
    return isStratoError(err) ? err.code : 'not a StratoError'
  }
  return undefined
}

test('async config: defaults, ranges and FunctionGraph destinations', () => {
  expect(parseAsyncInvokeConfig({ max_async_event_age_in_seconds: 60 })).toMatchObject({
    maxAsyncEventAgeS: 60,
    maxAsyncRetryAttempts: 1,
    onSuccess: undefined,
    onFailure: undefined,
    enableAsyncStatusLog: false,
  })
  const full = parseAsyncInvokeConfig({
    max_async_event_age_in_seconds: 86_400,
    max_async_retry_attempts: 0,
    destination_config: {
      on_failure: { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: SINK }) },
    },
  })
  expect(full.targetUrns).toEqual([SINK])
  expect(codeOf({})).toBe('INVALID_PARAMETER')
  expect(codeOf({ max_async_event_age_in_seconds: 0 })).toBe('INVALID_PARAMETER')
  expect(codeOf({ max_async_event_age_in_seconds: 86_401 })).toBe('INVALID_PARAMETER')
  expect(codeOf({ max_async_event_age_in_seconds: 60, max_async_retry_attempts: 4 })).toBe(
    'INVALID_PARAMETER',
  )
  expect(
    codeOf({
      max_async_event_age_in_seconds: 60,
      destination_config: { on_success: { destination: 'FunctionGraph', param: '{}' } },
    }),
  ).toBe('INVALID_PARAMETER')
  expect(
    codeOf({
      max_async_event_age_in_seconds: 60,
      destination_config: { on_success: { destination: 'SMN', param: '{"topic_urn":"t"}' } },
    }),
  ).toBe('UNSUPPORTED_DESTINATION')
})
