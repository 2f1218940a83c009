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

test('async config: every field is optional; one left out keeps its stored value, else the default', () => {
  expect(parseAsyncInvokeConfig({})).toMatchObject({
    maxAsyncEventAgeS: 3600,
    maxAsyncRetryAttempts: 1,
    onSuccess: undefined,
    onFailure: undefined,
    targetUrns: [],
    enableAsyncStatusLog: false,
  })
  const onFailure = { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: SINK }) }
  const stored = {
    functionId: 'f',
    qualifier: 'latest',
    maxAsyncEventAgeS: 120,
    maxAsyncRetryAttempts: 3,
    onSuccess: undefined,
    onFailure,
    enableAsyncStatusLog: true,
    createdAt: new Date(),
    lastModified: new Date(),
  }
  expect(parseAsyncInvokeConfig({ max_async_retry_attempts: 0 }, stored)).toMatchObject({
    maxAsyncEventAgeS: 120,
    maxAsyncRetryAttempts: 0,
    onFailure,
    targetUrns: [],
    enableAsyncStatusLog: true,
  })
  // A given destination_config replaces both destinations.
  expect(parseAsyncInvokeConfig({ destination_config: {} }, stored)).toMatchObject({
    onSuccess: undefined,
    onFailure: undefined,
  })
})
