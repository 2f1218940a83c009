/**
 * @module The gateway's wire work around an invocation: reading a bounded request body, the APIG
 * event an event function receives (reference §6.1), and checking and sending its answer.
 */
import type http from 'node:http'
import { StratoError, type ApigTriggerRecord } from '../core/index.js'
import type { RouteMatch } from './apig-router.js'
import { gatewayResponseHeaders } from './response-headers.js'

function singleValued(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) {
      out[k] = Array.isArray(v) ? v.join(',') : v
    }
  }
  return out
}

const NO_BODY = Buffer.alloc(0)

/**
 * Reads a request body of at most `limit` bytes; more is 413 `REQUEST_TOO_LARGE` (at once when the
 * `Content-Length` announces it).
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  if (
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  ) {
    // No body by definition (RFC 9112 §6.3): a GET's usual case, without a promise and three
    // listeners per request. Resumed so that the request still ends.
    req.resume()
    return Promise.resolve(NO_BODY)
  }
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    req.resume()
    return Promise.reject(
      new StratoError(
        'REQUEST_TOO_LARGE',
        `The request body is ${declared} bytes; this API takes at most ${limit}.`,
      ),
    )
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        req.destroy()
        reject(new StratoError('REQUEST_TOO_LARGE', `The request body is over ${limit} bytes.`))
        return
      }
      chunks.push(c)
    })
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks, size)),
    )
    req.once('error', reject)
  })
}

/** The APIG event of reference §6.1, as FunctionGraph's gateway sends it (body always base64). */
export function apigEvent(
  req: http.IncomingMessage,
  r: {
    requestId: string
    trigger: ApigTriggerRecord
    match: RouteMatch
    path: string
    query: string
    method: string
    body: Buffer
  },
): Buffer {
  const queryStringParameters: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(r.query)) {
    if (!(k in queryStringParameters)) {
      queryStringParameters[k] = v
    }
  }
  const sourceIp = req.socket.remoteAddress ?? ''
  return Buffer.from(
    JSON.stringify({
      body: r.body.toString('base64'),
      requestContext: {
        apiId: r.trigger.id,
        requestId: r.requestId,
        stage: r.trigger.eventData.env_name,
        sourceIp,
      },
      queryStringParameters,
      httpMethod: r.method,
      pathParameters: r.match.pathParameters,
      headers: { ...singleValued(req.headers), 'x-request-id': r.requestId, 'x-real-ip': sourceIp },
      path: r.path,
      isBase64Encoded: true,
    }),
  )
}

/** A function error as the gateway reports it: 502 `GATEWAY_FUNCTION_ERROR` with its type and message. */
export function functionError(body: Buffer): StratoError {
  let detail = body.toString('utf8')
  try {
    const e = JSON.parse(detail) as { errorType?: string; errorMessage?: string }
    detail = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? ''}`
  } catch {
    // keep the raw text
  }
  return new StratoError('GATEWAY_FUNCTION_ERROR', `The function failed: ${detail.slice(0, 2000)}`)
}

/** Checks and sends an event function's `{statusCode, headers, body, isBase64Encoded}`. */
export function writeApigResponse(
  res: http.ServerResponse,
  a: { requestId: string; method: string; result: Buffer; isText: boolean },
): void {
  const { result, isText } = a
  let parsed: unknown
  try {
    parsed = isText ? undefined : JSON.parse(result.toString('utf8'))
  } catch {
    parsed = undefined
  }
  const r = parsed as
    | { statusCode?: unknown; headers?: unknown; body?: unknown; isBase64Encoded?: unknown }
    | undefined
  const status = r?.statusCode
  if (
    r === undefined ||
    r === null ||
    typeof r !== 'object' ||
    typeof status !== 'number' ||
    !Number.isInteger(status) ||
    status < 100 ||
    status > 599 ||
    (r.headers !== undefined && (typeof r.headers !== 'object' || r.headers === null)) ||
    (r.body !== undefined && typeof r.body !== 'string')
  ) {
    throw new StratoError(
      'GATEWAY_BAD_FUNCTION_RESPONSE',
      `The function's answer is not {statusCode, headers, body, isBase64Encoded}: ${result.toString('utf8').slice(0, 200)}`,
    )
  }
  const text = typeof r.body === 'string' ? r.body : ''
  const body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8')
  const headers = gatewayResponseHeaders({
    statusCode: status,
    method: a.method,
    headers: (r.headers ?? {}) as Record<string, unknown>,
    body,
  })
  // The gateway's request id, unless the function answers with its own.
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'x-request-id')) {
    headers['x-request-id'] = a.requestId
  }
  res.writeHead(status, headers)
  res.end(body)
}
