import { expect, test } from 'vitest'
import { formatHttpHead, unwrapHttpResult } from './http-result.js'

test('a wrapped HTTP response is unwrapped: body decoded, headers kept in order', () => {
  const wrapped = JSON.stringify({
    body: Buffer.from('hello\n').toString('base64'),
    headers: { 'Content-Type': ['text/plain'], 'Set-Cookie': ['a=1', 'b=2'] },
    statusCode: 201,
    isBase64Encoded: true,
  })
  const r = unwrapHttpResult(wrapped)
  expect(r?.body.toString()).toBe('hello\n')
  expect(r && formatHttpHead(r)).toBe(
    'HTTP 201\nContent-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\n',
  )
})

test('anything else is not a wrapped response', () => {
  for (const result of [
    '{"message":"hi"}',
    '"text"',
    'not json',
    '[1]',
    '{"statusCode":"200","body":""}',
  ]) {
    expect(unwrapHttpResult(result)).toBeUndefined()
  }
  expect(unwrapHttpResult('{"statusCode":200,"body":"plain"}')?.body.toString()).toBe('plain')
})
