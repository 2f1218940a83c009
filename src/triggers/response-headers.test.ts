import { describe, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { gatewayResponseHeaders, type FunctionResponse } from './response-headers.js'

function headersOf(
  headers: Record<string, unknown>,
  r: Partial<Omit<FunctionResponse, 'headers'>> = {},
): Record<string, string | string[]> {
  return {
    ...gatewayResponseHeaders({
      statusCode: 200,
      method: 'GET',
      body: Buffer.from('hello'),
      ...r,
      headers,
    }),
  }
}

describe('gatewayResponseHeaders', () => {
  test("keeps the function's spelling and sets the length of the body sent", () => {
    expect(headersOf({ 'Content-type': ['text/plain'], 'X-Thing': 'a' })).toEqual({
      'Content-type': 'text/plain',
      'X-Thing': 'a',
      'content-length': '5',
    })
  })

  test('names differing only in case go out once, under the first spelling', () => {
    expect(
      headersOf({
        'Content-type': 'text/html',
        'content-type': 'text/plain',
        'X-Dup': ['a'],
        'x-dup': ['b', 'c'],
        'Set-Cookie': 'a=1',
        'set-cookie': ['b=2'],
      }),
    ).toEqual({
      'Content-type': 'text/html',
      'X-Dup': 'a, b, c',
      'Set-Cookie': ['a=1', 'b=2'],
      'content-length': '5',
    })
  })

  test("the function's framing and hop-by-hop headers never go out, nor what its Connection names", () => {
    expect(
      headersOf({
        'Content-Length': '999',
        'TRANSFER-ENCODING': 'chunked',
        Connection: ['close, X-Hop', 'x-other'],
        'X-Hop': '1',
        'X-Other': '2',
        'Keep-Alive': 'timeout=5',
        Upgrade: 'h2c',
        Trailer: 'X-Sum',
        'X-Kept': '3',
      }),
    ).toEqual({ 'X-Kept': '3', 'content-length': '5' })
  })

  test('no Content-Length for 1xx and 204; the announced one for 304 and an empty HEAD answer', () => {
    const empty = { body: Buffer.alloc(0) }
    expect(headersOf({ 'Content-Length': '0' }, { statusCode: 204, ...empty })).toEqual({})
    expect(headersOf({ 'Content-Length': '42' }, { statusCode: 304, ...empty })).toEqual({
      'content-length': '42',
    })
    expect(headersOf({}, { statusCode: 304, ...empty })).toEqual({})
    expect(headersOf({ 'content-length': ['42', '42'] }, { method: 'HEAD', ...empty })).toEqual({
      'content-length': '42',
    })
    // Lengths that disagree, or are not a number, announce nothing.
    expect(headersOf({ 'Content-Length': '1, 2' }, { method: 'HEAD', ...empty })).toEqual({})
    expect(headersOf({ 'Content-Length': '-1' }, { method: 'HEAD', ...empty })).toEqual({})
    // An event function's HEAD answer has its body: that is its length.
    expect(headersOf({ 'Content-Length': '42' }, { method: 'head' })).toEqual({
      'content-length': '5',
    })
  })

  test('values that are not strings are sent as text; null and undefined are left out', () => {
    expect(headersOf({ 'X-N': 7, 'X-B': true, 'X-Null': null, 'X-U': undefined })).toEqual({
      'X-N': '7',
      'X-B': 'true',
      'content-length': '5',
    })
  })

  test('a header named __proto__ is only a name', () => {
    const out = gatewayResponseHeaders({
      statusCode: 200,
      method: 'GET',
      body: Buffer.alloc(0),
      headers: JSON.parse('{"__proto__":["p"]}') as Record<string, unknown>,
    })
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('p')
  })

  test('a name or value that cannot be sent is the function answering badly (FSS.1202)', () => {
    for (const bad of [{ 'X-Bad': 'a\r\nInjected: yes' }, { 'Bad Name': 'x' }, { 'X-Ü': 'x' }]) {
      let err: unknown
      try {
        headersOf(bad)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(StratoError)
      expect((err as StratoError).code).toBe('GATEWAY_BAD_FUNCTION_RESPONSE')
    }
  })
})

describe('gatewayResponseHeaders and its input', () => {
  test("leaves the caller's lists as they were when it merges spellings", () => {
    const first = ['a']
    const headers = { 'X-Dup': first, 'x-dup': ['b'] }
    expect(headersOf(headers)['X-Dup']).toBe('a, b')
    expect(first).toEqual(['a'])
  })
})
