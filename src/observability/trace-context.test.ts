/** The W3C trace context an invocation hands its function, worked out without the SDK. */
import { expect, test } from 'vitest'
import { callerContextOf, isSampled, traceIdOfRequest, untracedHeaders } from './trace-context.js'

const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

test('a valid traceparent is the caller context; malformed or all-zero ids are ignored', () => {
  expect(callerContextOf(SAMPLED)).toMatchObject({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    isRemote: true,
  })
  expect(isSampled(callerContextOf(SAMPLED))).toBe(true)
  expect(isSampled(callerContextOf(SAMPLED.replace(/01$/, '00')))).toBe(false)
  for (const bad of [
    undefined,
    '',
    'garbage',
    '00-00000000000000000000000000000000-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
    'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  ]) {
    expect(callerContextOf(bad), String(bad)).toBeUndefined()
  }
})

test('untraced: the caller context passes on unchanged, else the request id names the trace', () => {
  expect(untracedHeaders('01a24a45-97a1-7000-bef8-49d9a0da406f', callerContextOf(SAMPLED))).toEqual(
    { 'x-cff-trace-id': '0af7651916cd43dd8448eb211c80319c', traceparent: SAMPLED },
  )
  const own = untracedHeaders('01A24A45-97A1-7000-BEF8-49D9A0DA406F', undefined)
  expect(own).toEqual({
    'x-cff-trace-id': '01a24a4597a17000bef849d9a0da406f',
    traceparent: '00-01a24a4597a17000bef849d9a0da406f-bef849d9a0da406f-00',
  })
  // What it hands on is itself a valid, unsampled context.
  expect(isSampled(callerContextOf(own.traceparent))).toBe(false)
  expect(callerContextOf(own.traceparent)?.traceId).toBe(
    traceIdOfRequest('01a24a45-97a1-7000-bef8-49d9a0da406f'),
  )
})
