/**
 * @module HTTP functions (`runtime: "http"`, FunctionGraph §5.8): the request an instance's web
 * server receives and the response it gives, and their translation from and to the JSON of the
 * invoke API (an APIG-style event in, the wrapped response with base64 body and array headers out).
 */
import { StratoError } from './errors.js'

/**
 * Connection-level headers that belong to one hop and are never forwarded (and `content-length`,
 * which is set again for the body actually sent; `expect`, answered by the hop itself).
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'expect',
])

/** One HTTP request for the function's server; its body travels separately as raw bytes. */
export interface HttpRequestMeta {
  readonly method: string
  /** The path, starting with '/', without the query. */
  readonly path: string
  /** The raw query string without '?', or ''. */
  readonly query: string
  readonly headers: Readonly<Record<string, string | readonly string[]>>
}

/** The server's answer; the body travels separately as raw bytes. */
export interface HttpResponseMeta {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, readonly string[]>>
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) {
    return {}
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new StratoError('INVALID_EVENT', `The event's '${field}' must be an object of strings.`)
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = typeof v === 'string' ? v : JSON.stringify(v)
  }
  return out
}

/**
 * The request an invoke-API event asks for: `httpMethod`, `path`, `queryStringParameters`,
 * `headers`, `body` (base64 when `isBase64Encoded`). Missing fields mean `GET /` with no body.
 */
export function httpRequestFromEvent(payload: Buffer): { meta: HttpRequestMeta; body: Buffer } {
  let event: Record<string, unknown> = {}
  if (payload.length > 0) {
    let parsed: unknown
    try {
      parsed = JSON.parse(payload.toString('utf8'))
    } catch (err) {
      throw new StratoError(
        'INVALID_EVENT',
        `The invocation body is not valid JSON: ${(err as Error).message}.`,
      )
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new StratoError(
        'INVALID_EVENT',
        'An HTTP function is invoked with an APIG-style event object (httpMethod, path, headers, body).',
      )
    }
    event = parsed as Record<string, unknown>
  }
  const method = typeof event.httpMethod === 'string' ? event.httpMethod.toUpperCase() : 'GET'
  const rawPath = typeof event.path === 'string' && event.path !== '' ? event.path : '/'
  const path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`
  const query = new URLSearchParams(
    stringRecord(event.queryStringParameters, 'queryStringParameters'),
  ).toString()
  const bodyText = typeof event.body === 'string' ? event.body : ''
  const body =
    event.isBase64Encoded === true ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText, 'utf8')
  return { meta: { method, path, query, headers: stringRecord(event.headers, 'headers') }, body }
}

/** The invoke API's result for an HTTP function: `{body (base64), headers (arrays), statusCode, isBase64Encoded}`. */
export function wrapHttpResponse(meta: HttpResponseMeta, body: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      body: body.toString('base64'),
      headers: meta.headers,
      statusCode: meta.statusCode,
      isBase64Encoded: true,
    }),
  )
}
