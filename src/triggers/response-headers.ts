/**
 * @module The header lines the gateway sends for a function's answer: valid HTTP/1.1 whatever
 * the function wrote. Names keep the function's first spelling; each name goes out once; the
 * framing (`Content-Length`) is the gateway's own, for the body it actually sends.
 */
import http from 'node:http'
import { StratoError, HOP_BY_HOP_HEADERS } from '../core/index.js'

/**
 * Fields with one value (RFC 9110 and the CORS ones a browser refuses twice): of several, the
 * first one counts, as Node's, Go's and Python's clients read them.
 */
const SINGLE_VALUED: ReadonlySet<string> = new Set([
  'age',
  'content-type',
  'content-location',
  'content-range',
  'content-disposition',
  'date',
  'etag',
  'expires',
  'last-modified',
  'location',
  'retry-after',
  'server',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-max-age',
])

export interface FunctionResponse {
  readonly statusCode: number
  /** The request's method: the answer to a HEAD has no body but may announce its length. */
  readonly method: string
  /** As the function gave them: names in any case, a value or a list of values each. */
  readonly headers: Readonly<Record<string, unknown>>
  /** The body the gateway will send. */
  readonly body: Buffer
}

/**
 * The headers for `res.writeHead`:
 * 1. framing and hop-by-hop headers are dropped, with the ones the function's `Connection` names
 *    (RFC 9110 §7.6.1): the gateway frames its own connection;
 * 2. names that differ only in case become one, under the first spelling;
 * 3. several values go out as one comma-joined line (RFC 9110 §5.3), `Set-Cookie` as one line
 *    each, a single-valued field as its first value;
 * 4. `Content-Length` is the body's length; none for 1xx and 204 (§8.6); for 304, and for a
 *    HEAD answered without a body, the length the function announced, if it is one number.
 * A name or value that cannot be sent is the function's fault: `GATEWAY_BAD_FUNCTION_RESPONSE`.
 */
export function gatewayResponseHeaders(r: FunctionResponse): Record<string, string | string[]> {
  const fields = new Map<string, { name: string; values: string[] }>()
  const connectionListed = new Set<string>()
  for (const [name, raw] of Object.entries(r.headers)) {
    const values = valuesOf(raw)
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      for (const v of values) {
        for (const listed of v.split(',')) {
          connectionListed.add(listed.trim().toLowerCase())
        }
      }
    }
    const field = fields.get(lower)
    if (field === undefined) {
      fields.set(lower, { name, values })
    } else {
      // A new list: `values` may be the caller's own.
      field.values = [...field.values, ...values]
    }
  }
  const declaredLength = lengthOf(fields.get('content-length')?.values ?? [])
  // No prototype: a function may name a header `__proto__`.
  const out = Object.create(null) as Record<string, string | string[]>
  for (const [lower, { name, values }] of fields) {
    if (HOP_BY_HOP_HEADERS.has(lower) || connectionListed.has(lower) || values.length === 0) {
      continue
    }
    const value =
      lower === 'set-cookie'
        ? values
        : SINGLE_VALUED.has(lower)
          ? (values[0] ?? '')
          : values.join(', ')
    try {
      http.validateHeaderName(name)
      for (const v of Array.isArray(value) ? value : [value]) {
        http.validateHeaderValue(name, v)
      }
    } catch (err) {
      throw new StratoError(
        'GATEWAY_BAD_FUNCTION_RESPONSE',
        `The function's response header ${JSON.stringify(name.slice(0, 100))} cannot be sent: ${(err as Error).message}`,
        { cause: err },
      )
    }
    out[name] = value
  }
  const length = contentLengthOf(r, declaredLength)
  if (length !== undefined) {
    out['content-length'] = String(length)
  }
  return out
}

function contentLengthOf(r: FunctionResponse, declared: number | undefined): number | undefined {
  if (r.statusCode < 200 || r.statusCode === 204) {
    return undefined
  }
  if (r.statusCode === 304 || (r.method.toUpperCase() === 'HEAD' && r.body.length === 0)) {
    return declared
  }
  return r.body.length
}

/** A header's values as strings, without `undefined` and `null`. */
function valuesOf(raw: unknown): string[] {
  // HTTP functions' headers arrive as lists of strings: no copy for them.
  if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) {
    return raw
  }
  return (Array.isArray(raw) ? (raw as unknown[]) : [raw])
    .filter((v) => v !== undefined && v !== null)
    .map(String)
}

const DIGITS = /^\d{1,15}$/

/** The one length all `Content-Length` values agree on, or undefined. */
function lengthOf(values: readonly string[]): number | undefined {
  const [first] = values
  if (values.length === 1 && first !== undefined && DIGITS.test(first)) {
    return Number(first) // the usual case: one plain number
  }
  const all = new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()))
  const [only] = all
  return all.size === 1 && only !== undefined && DIGITS.test(only) ? Number(only) : undefined
}
