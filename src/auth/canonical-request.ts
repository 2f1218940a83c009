/**
 * @module The canonical request of SDK-HMAC-SHA256 (reference §3.2), shared by the signer and the
 * verifier so both sides build it from one piece of code.
 */
import { hash } from 'node:crypto'
import { BoundedMemo } from '../core/index.js'

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256'
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

// The SDK's encoder keeps only A-Z a-z 0-9 - _ . ~ and percent-encodes the UTF-8 bytes of the rest.
const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/

/** Percent-encodes like the SDK's `urlEncode` (stricter than encodeURIComponent: `!*'()` too). */
export function sdkUrlEncode(value: string): string {
  if (UNRESERVED.test(value)) {
    return value
  }
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

// Every request to one function has the same path: encode it once. Bounded, so made-up paths
// cannot grow it.
const canonicalUris = new BoundedMemo<string, string>(4096)

/** Encodes each raw (undecoded) path segment and always ends with '/'. */
export function canonicalUri(rawPath: string): string {
  const cached = canonicalUris.get(rawPath)
  if (cached !== undefined) {
    return cached
  }
  const encoded = rawPath.split('/').map(sdkUrlEncode).join('/')
  return canonicalUris.set(rawPath, encoded.endsWith('/') ? encoded : `${encoded}/`)
}

/** Sorted `key=value` pairs, values of a repeated key sorted too, both encoded like the SDK. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') {
    return ''
  }
  const byKey = new Map<string, string[]>()
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    const list = byKey.get(k)
    if (list === undefined) {
      byKey.set(k, [v])
    } else {
      list.push(v)
    }
  }
  const pairs: string[] = []
  for (const key of [...byKey.keys()].sort()) {
    const values = byKey.get(key) ?? []
    for (const v of values.sort()) {
      pairs.push(`${sdkUrlEncode(key)}=${sdkUrlEncode(v)}`)
    }
  }
  return pairs.join('&')
}

export interface CanonicalInput {
  readonly method: string
  /** The request-target as sent: path and optional `?query`, undecoded. */
  readonly target: string
  /** Lowercase names of the signed headers, sorted. */
  readonly signedHeaders: readonly string[]
  /** Header lookup by lowercase name. */
  readonly header: (name: string) => string | undefined
  /** Hex SHA-256 of the payload (or the literal of `X-Sdk-Content-Sha256`). */
  readonly payloadHash: string
}

export function buildCanonicalRequest(input: CanonicalInput): string {
  const q = input.target.indexOf('?')
  const rawPath = q === -1 ? input.target : input.target.slice(0, q)
  const rawQuery = q === -1 ? '' : input.target.slice(q + 1)
  let headers = ''
  for (const name of input.signedHeaders) {
    headers += `${name}:${input.header(name) ?? ''}\n`
  }
  return [
    input.method.toUpperCase(),
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    headers,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n')
}

// Every request hashes three times. The one-shot `hash` makes no Hash object: with createHash and
// createHmac each call left a native object for the garbage collector to finalise, and under load
// that cost more than the hashing.
export function sha256Hex(data: string | Buffer): string {
  return hash('sha256', data)
}

const HMAC_BLOCK_BYTES = 64
/** Inner and outer padded keys (RFC 2104) per secret: a server verifies with few secrets. */
const hmacPads = new BoundedMemo<string, { inner: Buffer; outer: Buffer }>(1024)

function padsOf(secretKey: string): { inner: Buffer; outer: Buffer } {
  const cached = hmacPads.get(secretKey)
  if (cached !== undefined) {
    return cached
  }
  let key = Buffer.from(secretKey, 'utf8')
  if (key.length > HMAC_BLOCK_BYTES) {
    key = hash('sha256', key, 'buffer')
  }
  const inner = Buffer.alloc(HMAC_BLOCK_BYTES, 0x36)
  const outer = Buffer.alloc(HMAC_BLOCK_BYTES, 0x5c)
  for (let i = 0; i < key.length; i++) {
    inner[i] = (inner[i] ?? 0) ^ (key[i] ?? 0)
    outer[i] = (outer[i] ?? 0) ^ (key[i] ?? 0)
  }
  return hmacPads.set(secretKey, { inner, outer })
}

// Scratch for the two HMAC inputs (pad + message): a string to sign is about 100 bytes, so one
// buffer serves every request instead of two concatenations each. Longer messages get their own.
const SCRATCH_BYTES = 1024
const innerScratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES)
const outerScratch = Buffer.allocUnsafeSlow(HMAC_BLOCK_BYTES + 32)

/** HMAC-SHA256 (RFC 2104) from two one-shot hashes; equal to createHmac's, tested against it. */
function hmacSha256(secretKey: string, message: string): Buffer {
  const { inner, outer } = padsOf(secretKey)
  let innerInput: Buffer
  if (message.length * 3 <= SCRATCH_BYTES - HMAC_BLOCK_BYTES) {
    inner.copy(innerScratch, 0)
    const n = innerScratch.write(message, HMAC_BLOCK_BYTES, 'utf8')
    innerInput = innerScratch.subarray(0, HMAC_BLOCK_BYTES + n)
  } else {
    innerInput = Buffer.concat([inner, Buffer.from(message, 'utf8')])
  }
  const innerHash = hash('sha256', innerInput, 'buffer')
  outer.copy(outerScratch, 0)
  innerHash.copy(outerScratch, HMAC_BLOCK_BYTES)
  return hash('sha256', outerScratch, 'buffer')
}

export function hmacSha256Hex(secretKey: string, message: string): string {
  return hmacSha256(secretKey, message).toString('hex')
}

function stringToSign(sdkDate: string, canonical: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`
}

export function computeSignature(secretKey: string, sdkDate: string, canonical: string): string {
  return hmacSha256Hex(secretKey, stringToSign(sdkDate, canonical))
}

/** The signature as its 32 bytes (what the verifier compares). */
export function computeSignatureBytes(
  secretKey: string,
  sdkDate: string,
  canonical: string,
): Buffer {
  return hmacSha256(secretKey, stringToSign(sdkDate, canonical))
}

export function formatSdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
}

// Requests signed within the same second carry the same date: parse it once.
let lastSdkDate = ''
let lastSdkDateMs: number | undefined

/** Parses `YYYYMMDDTHHmmssZ`; `undefined` when it is not a real date in that form. */
export function parseSdkDate(value: string): number | undefined {
  if (value !== lastSdkDate) {
    lastSdkDateMs = parseSdkDateUncached(value)
    lastSdkDate = value
  }
  return lastSdkDateMs
}

function parseSdkDateUncached(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (m === null) {
    return undefined
  }
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const ms = Date.UTC(y, mo - 1, d, h, mi, s)
  const back = new Date(ms)
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return undefined
  }
  return ms
}
