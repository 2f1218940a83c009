import { createHmac } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import {
  buildCanonicalRequest,
  computeSignature,
  hmacSha256Hex,
  sha256Hex,
} from './canonical-request.js'
import { RequestVerifier, signRequest } from './index.js'

const VECTOR_TARGET = '/v2/p1/fgs/functions/urn:fss:r1:p1:function:default:hello:latest/invocations'

describe('SDK-HMAC-SHA256', () => {
  test('the two-hash HMAC equals node:crypto createHmac for empty, short, block-sized, long and non-ASCII keys', () => {
    const keys = ['', 'k', 'test-sk', 'x'.repeat(64), 'y'.repeat(65), 'z'.repeat(200), 'clé-秘密']
    const messages = ['', 'SDK-HMAC-SHA256\n20240101T000000Z\nabc', 'ü'.repeat(100)]
    for (const key of keys) {
      for (const message of messages) {
        // Twice: the second call takes the cached pads.
        for (let i = 0; i < 2; i++) {
          expect(hmacSha256Hex(key, message)).toBe(
            createHmac('sha256', key).update(message).digest('hex'),
          )
        }
      }
    }
  })

  test('canonical request and signature match the reference test vector (§3.2)', () => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      host: '127.0.0.1:8080',
      'x-project-id': 'p1',
      'x-sdk-date': '20240101T000000Z',
    }
    const canonical = buildCanonicalRequest({
      method: 'POST',
      target: VECTOR_TARGET,
      signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'],
      header: (n) => headers[n],
      payloadHash: sha256Hex('{"k":"v"}'),
    })
    expect(canonical).toBe(
      [
        'POST',
        '/v2/p1/fgs/functions/urn%3Afss%3Ar1%3Ap1%3Afunction%3Adefault%3Ahello%3Alatest/invocations/',
        '',
        'content-type:application/json',
        'host:127.0.0.1:8080',
        'x-project-id:p1',
        'x-sdk-date:20240101T000000Z',
        '',
        'content-type;host;x-project-id;x-sdk-date',
        '666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319',
      ].join('\n'),
    )
    expect(sha256Hex(canonical)).toBe(
      '57a05704501a1ab2086d4ccee7cad1eebbeddedfe87a298594cb364c4994dab5',
    )
    expect(computeSignature('test-sk', '20240101T000000Z', canonical)).toBe(
      '34858984c821624dec920f20b8ffa255ab79271745a09fe7f7e60553a47ca9ac',
    )
  })

  const now = Date.UTC(2024, 0, 1, 0, 0, 0)
  const verifier = new RequestVerifier({
    lookup: (ak) =>
      ak === 'test-ak' ? { accessKey: ak, secretKey: 'test-sk', projectId: 'p1' } : undefined,
    clockSkewMs: 15 * 60_000,
    now: () => now,
  })
  const signed = (
    overrides: { body?: string; at?: number; sk?: string } = {},
  ): Record<string, string> => {
    const body = overrides.body ?? '{"k":"v"}'
    const headers = signRequest({
      method: 'POST',
      url: `http://127.0.0.1:8080${VECTOR_TARGET}?b=2&a=x%20y`,
      headers: { 'content-type': 'application/json', 'x-project-id': 'p1' },
      body,
      accessKey: 'test-ak',
      secretKey: overrides.sk ?? 'test-sk',
      now: overrides.at ?? now,
    })
    return { ...headers, host: '127.0.0.1:8080' }
  }
  const verify = (headers: Record<string, string>, body = '{"k":"v"}') =>
    verifier.verify({
      method: 'POST',
      target: `${VECTOR_TARGET}?b=2&a=x%20y`,
      headers,
      body: Buffer.from(body),
    })
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn()
      return undefined
    } catch (err) {
      return err instanceof StratoError ? err.code : 'not a StratoError'
    }
  }

  test('verify: accepts what signRequest signs and returns the principal', () => {
    expect(verify(signed())).toEqual({ accessKey: 'test-ak', projectId: 'p1' })
  })
  test('verify: a body changed by one byte fails with the signature error', () => {
    expect(codeOf(() => verify(signed(), '{"k":"w"}'))).toBe('SIGNATURE_MISMATCH')
  })
  test('verify: a wrong secret key fails', () => {
    expect(codeOf(() => verify(signed({ sk: 'other' })))).toBe('SIGNATURE_MISMATCH')
  })
  test('verify: X-Sdk-Date 16 min off either way is refused, 14 min is accepted', () => {
    expect(codeOf(() => verify(signed({ at: now - 16 * 60_000 })))).toBe('UNAUTHORIZED')
    expect(codeOf(() => verify(signed({ at: now + 16 * 60_000 })))).toBe('UNAUTHORIZED')
    expect(codeOf(() => verify(signed({ at: now - 14 * 60_000 })))).toBeUndefined()
  })
  test('verify: missing, garbled or wrong-scheme Authorization headers are 401', () => {
    const h = signed()
    expect(codeOf(() => verify({ ...h, authorization: '' }))).toBe('UNAUTHORIZED')
    expect(codeOf(() => verify({ ...h, authorization: 'Basic abc' }))).toBe('UNAUTHORIZED')
  })
  test('verify: an unknown access key gets the answer of a wrong signature; only the cause tells', () => {
    const h = signed()
    const refusal = (headers: Record<string, string>): StratoError => {
      try {
        verify(headers)
      } catch (err) {
        if (err instanceof StratoError) {
          return err
        }
      }
      throw new Error('expected a StratoError')
    }
    const unknown = refusal({ ...h, authorization: h.authorization!.replace('test-ak', 'nope') })
    const wrongSecret = refusal(signed({ sk: 'other' }))
    expect([unknown.code, unknown.message, unknown.spec]).toEqual([
      wrongSecret.code,
      wrongSecret.message,
      wrongSecret.spec,
    ])
    expect((unknown.cause as Error).message).toBe("Unknown access key 'nope'.")
  })
  test('verify: SignedHeaders without host or x-sdk-date, or an unsigned x-project-id, are refused', () => {
    const h = signed()
    const without = (name: string) =>
      h.authorization!.replace(
        /SignedHeaders=([^,]+)/,
        (_m, list: string) =>
          `SignedHeaders=${list
            .split(';')
            .filter((x) => x !== name)
            .join(';')}`,
      )
    expect(codeOf(() => verify({ ...h, authorization: without('host') }))).toBe('UNAUTHORIZED')
    expect(codeOf(() => verify({ ...h, authorization: without('x-sdk-date') }))).toBe(
      'UNAUTHORIZED',
    )
    expect(codeOf(() => verify({ ...h, authorization: without('x-project-id') }))).toBe(
      'UNAUTHORIZED',
    )
  })
  test('verify: the SDK quirk of hashing a string body as its JSON literal is accepted', () => {
    const body = 'plain text event'
    const h = signed({ body: JSON.stringify(body) })
    expect(verify(h, body)).toEqual({ accessKey: 'test-ak', projectId: 'p1' })
  })

  test('verify: a signed X-Sdk-Content-Sha256 must match the body; UNSIGNED-PAYLOAD is accepted as the SDK sends it', () => {
    const sign = (contentSha: string, body: string): Record<string, string> => ({
      ...signRequest({
        method: 'POST',
        url: `http://127.0.0.1:8080${VECTOR_TARGET}`,
        headers: { 'content-type': 'application/json', 'x-sdk-content-sha256': contentSha },
        body,
        accessKey: 'test-ak',
        secretKey: 'test-sk',
        now,
      }),
      host: '127.0.0.1:8080',
    })
    const check = (headers: Record<string, string>, body: string) => () =>
      verifier.verify({ method: 'POST', target: VECTOR_TARGET, headers, body: Buffer.from(body) })
    expect(codeOf(check(sign(sha256Hex('{"a":1}'), '{"a":1}'), '{"a":2}'))).toBe(
      'SIGNATURE_MISMATCH',
    )
    expect(codeOf(check(sign(sha256Hex('{"a":1}'), '{"a":1}'), '{"a":1}'))).toBeUndefined()
    expect(codeOf(check(sign('UNSIGNED-PAYLOAD', 'anything'), 'anything else'))).toBeUndefined()
  })
})
