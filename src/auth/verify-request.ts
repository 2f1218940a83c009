/**
 * @module Verifies SDK-HMAC-SHA256 signatures on incoming API requests (reference §3, and the
 * verifier recommendations of isolation-and-faults §3.3).
 */
import { timingSafeEqual } from 'node:crypto'
import { BoundedMemo, StratoError } from '../core/index.js'
import {
  EMPTY_BODY_SHA256,
  buildCanonicalRequest,
  computeSignatureBytes,
  parseSdkDate,
  sha256Hex,
} from './canonical-request.js'

/** A key pair as the verifier needs it. */
export interface AccessKeyEntry {
  readonly accessKey: string
  readonly secretKey: string
  readonly projectId: string
}

/** Who signed a verified request. */
export interface Principal {
  readonly accessKey: string
  readonly projectId: string
}

export interface VerifyInput {
  readonly method: string
  /** The raw request-target (`req.url`): undecoded path and query. */
  readonly target: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Raw body bytes as received ('' for none). */
  readonly body: Buffer | undefined
}

export interface VerifierOptions {
  /** Synchronous: keys live in memory so the hot path does no I/O. */
  readonly lookup: (accessKey: string) => AccessKeyEntry | undefined
  readonly clockSkewMs: number
  readonly now?: () => number
}

/** The SDK's marker for bodies it does not hash (multipart uploads); the body is then not signed. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

/** What `precheck` established about a request's headers; pass it on to `verify`. */
export type PrecheckedRequest = ParsedAuthorization

interface ParsedAuthorization {
  readonly accessKey: string
  readonly signedHeaders: readonly string[]
  readonly signature: string
  readonly sdkDate: string
  readonly key: AccessKeyEntry
  readonly header: (name: string) => string | undefined
}

const AUTHORIZATION =
  /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]{64})$/

function unauthorized(detail: string): StratoError {
  return new StratoError('UNAUTHORIZED', detail)
}

/**
 * The names of a SignedHeaders list, checked: lowercase, sorted, no repeats, `host` and
 * `x-sdk-date` among them. A client sends the same list on every request, so checked lists are
 * kept (bounded: made-up lists cannot grow it); a refused one is checked again each time.
 */
const signedHeaderLists = new BoundedMemo<string, readonly string[]>(256)

function signedHeaderListOf(list: string): readonly string[] {
  const known = signedHeaderLists.get(list)
  if (known !== undefined) {
    return known
  }
  const signedHeaders = list.split(';')
  const sorted = [...signedHeaders].sort()
  if (
    signedHeaders.some((h, i) => h !== h.toLowerCase() || h === '' || h !== sorted[i]) ||
    new Set(signedHeaders).size !== signedHeaders.length
  ) {
    throw unauthorized('SignedHeaders must be lowercase, sorted and without repeats.')
  }
  for (const required of ['host', 'x-sdk-date']) {
    if (!signedHeaders.includes(required)) {
      throw unauthorized(`SignedHeaders must include '${required}'.`)
    }
  }
  return signedHeaderLists.set(list, Object.freeze(signedHeaders))
}

/** Verifies requests signed with SDK-HMAC-SHA256; one instance per server. */
export class RequestVerifier {
  readonly #lookup: VerifierOptions['lookup']
  readonly #skewMs: number
  readonly #now: () => number

  constructor(options: VerifierOptions) {
    this.#lookup = options.lookup
    this.#skewMs = options.clockSkewMs
    this.#now = options.now ?? Date.now
  }

  /**
   * The checks that need no body: scheme, signed-header rules, date window, known key. Run before
   * the body is read, so an unsigned request never makes Strato buffer a 70 MB upload.
   */
  precheck(headers: VerifyInput['headers']): PrecheckedRequest {
    return this.#parse(headers)
  }

  #parse(headers: VerifyInput['headers']): ParsedAuthorization {
    const header = (name: string): string | undefined => {
      const v = headers[name]
      return Array.isArray(v) ? v.join(', ') : v
    }
    const authorization = header('authorization')
    if (authorization === undefined || authorization === '') {
      throw unauthorized('The request is not signed: the Authorization header is missing.')
    }
    const m = AUTHORIZATION.exec(authorization.trim())
    if (m === null) {
      throw unauthorized(
        "The Authorization header is not 'SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…'.",
      )
    }
    const [, accessKey = '', signedList = '', signature = ''] = m
    const signedHeaders = signedHeaderListOf(signedList)
    for (const mustBeSigned of ['x-project-id', 'x-security-token']) {
      if (header(mustBeSigned) !== undefined && !signedHeaders.includes(mustBeSigned)) {
        throw unauthorized(`The header '${mustBeSigned}' is sent but not signed.`)
      }
    }
    for (const name of signedHeaders) {
      if (header(name) === undefined) {
        throw unauthorized(`The signed header '${name}' is missing from the request.`)
      }
    }
    const sdkDate = header('x-sdk-date') ?? ''
    const signedAt = parseSdkDate(sdkDate)
    if (signedAt === undefined) {
      throw unauthorized(`X-Sdk-Date '${sdkDate}' is not a date of the form YYYYMMDDTHHmmssZ.`)
    }
    const skewMs = Math.abs(this.#now() - signedAt)
    if (skewMs > this.#skewMs) {
      throw unauthorized(
        `X-Sdk-Date is ${Math.round(skewMs / 1000)} s away from the server clock; the limit is ${Math.round(this.#skewMs / 1000)} s.`,
      )
    }
    const key = this.#lookup(accessKey)
    if (key === undefined) {
      // The answer is a wrong signature's, so that it does not tell who exists; the cause (for the
      // server log) says why.
      throw new StratoError('SIGNATURE_MISMATCH', undefined, {
        cause: new Error(`Unknown access key '${accessKey.slice(0, 64)}'.`),
      })
    }
    return { accessKey, signedHeaders, signature, sdkDate, key, header }
  }

  /**
   * Returns the principal, or throws StratoError UNAUTHORIZED / SIGNATURE_MISMATCH (401).
   * `prechecked` is what `precheck` returned for these same headers; it saves parsing them again.
   */
  verify(input: VerifyInput, prechecked?: PrecheckedRequest): Principal {
    const { signedHeaders, signature, sdkDate, key, header } =
      prechecked ?? this.#parse(input.headers)
    const body = input.body
    const contentSha = signedHeaders.includes('x-sdk-content-sha256')
      ? header('x-sdk-content-sha256')
      : undefined
    if (
      contentSha !== undefined &&
      contentSha !== UNSIGNED_PAYLOAD &&
      contentSha.toLowerCase() !== sha256Hex(body ?? Buffer.alloc(0))
    ) {
      // A signed content hash must be the body's: otherwise the signature would not cover it.
      throw new StratoError('SIGNATURE_MISMATCH', 'X-Sdk-Content-Sha256 does not match the body.')
    }
    // Candidate payload hashes, each computed only when the one before it did not match.
    const candidates: Array<() => string> =
      contentSha !== undefined
        ? [() => contentSha]
        : body === undefined || body.length === 0
          ? [() => EMPTY_BODY_SHA256]
          : // SDK quirk: a body given to the SDK as a pre-serialised string is hashed as
            // JSON.stringify(string), quotes included, while the bare string is sent.
            [() => sha256Hex(body), () => sha256Hex(JSON.stringify(body.toString('utf8')))]
    // 64 hex digits (the pattern says so): 32 bytes, compared with the expected digest's bytes.
    const given = Buffer.from(signature, 'hex')
    for (const payloadHash of candidates) {
      const canonical = buildCanonicalRequest({
        method: input.method,
        target: input.target,
        signedHeaders,
        header,
        payloadHash: payloadHash(),
      })
      const expected = computeSignatureBytes(key.secretKey, sdkDate, canonical)
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        return { accessKey: key.accessKey, projectId: key.projectId }
      }
    }
    throw new StratoError('SIGNATURE_MISMATCH')
  }
}
