/**
 * @module Signs a request the way the official SDK does, for Strato's own client, CLI and tests.
 */
import {
  EMPTY_BODY_SHA256,
  SIGNING_ALGORITHM,
  buildCanonicalRequest,
  computeSignature,
  formatSdkDate,
  sha256Hex,
} from './canonical-request.js'

export interface SignInput {
  readonly method: string
  /** Full URL of the request; its host and request-target are signed. */
  readonly url: string
  /** Headers to send and sign (e.g. content-type, x-project-id). */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer | string | undefined
  readonly accessKey: string
  readonly secretKey: string
  /** Milliseconds since the epoch; defaults to now. */
  readonly now?: number
}

/**
 * Returns the headers to send: the given ones plus `host`, `X-Sdk-Date` and `Authorization`.
 * @example fetch(url, { method, body, headers: signRequest({ method, url, headers, body, accessKey, secretKey }) })
 */
export function signRequest(input: SignInput): Record<string, string> {
  const url = new URL(input.url)
  const sdkDate = formatSdkDate(input.now ?? Date.now())
  const all = new Map<string, string>()
  for (const [k, v] of Object.entries(input.headers)) {
    all.set(k.toLowerCase(), v)
  }
  all.set('host', url.host)
  all.set('x-sdk-date', sdkDate)
  const signedHeaders = [...all.keys()].sort()
  const hasBody = input.body !== undefined && input.body.length > 0
  const canonical = buildCanonicalRequest({
    method: input.method,
    target: `${url.pathname}${url.search}`,
    signedHeaders,
    header: (name) => all.get(name),
    // As the SDK: a given X-Sdk-Content-Sha256 (e.g. UNSIGNED-PAYLOAD) is the payload hash.
    payloadHash:
      all.get('x-sdk-content-sha256') ?? (hasBody ? sha256Hex(input.body) : EMPTY_BODY_SHA256),
  })
  const signature = computeSignature(input.secretKey, sdkDate, canonical)
  const out: Record<string, string> = {}
  for (const [k, v] of all) {
    if (k !== 'host') {
      out[k] = v
    }
  }
  out.authorization = `${SIGNING_ALGORITHM} Access=${input.accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
  return out
}
