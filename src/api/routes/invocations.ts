/**
 * @module Synchronous invocation (reference §4.7), in its own plugin so the body stays raw bytes:
 * the event is parsed once, inside the instance, and the signature is checked on those bytes.
 */
import type { FastifyInstance } from 'fastify'
import {
  INSTANCE_MEMORY_HEADER,
  Limits,
  callerPresenceOf,
  formatInvocationLog,
  httpRequestFromEvent,
  requestedMemoryOf,
  servesHttp,
  wrapHttpResponse,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

type Params = FunctionPathParams

/** The last `bytes` of the log, starting on a character boundary (never half a UTF-8 sequence). */
function tail(log: string, bytes: number): Buffer {
  const buf = Buffer.from(log, 'utf8')
  if (buf.length <= bytes) {
    return buf
  }
  let start = buf.length - bytes
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) {
    start++
  }
  return buf.subarray(start)
}

/** The value of one cookie in a Cookie header (RFC 6265 §5.4: `name=value` pairs split by `; `). */
function cookieOf(header: string | undefined, name: string): string | undefined {
  if (header === undefined) {
    return undefined
  }
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

export function registerInvocationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: Params; Body: Buffer }>(
    '/v2/:project_id/fgs/functions/:function_urn/invocations',
    { bodyLimit: Limits.SYNC_PAYLOAD_MAX_BYTES },
    async (request, reply) => {
      const { fn, alias } = await resolveFunction(deps.resolution, request.params, {
        header: (name) => {
          const v = request.headers[name]
          return Array.isArray(v) ? v[0] : v
        },
        cookie: (name) => cookieOf(request.headers.cookie, name),
      })
      // Dynamic memory: served by an instance of the size asked for (FSS.0406 for no such size).
      const memoryHeader = request.headers[INSTANCE_MEMORY_HEADER]
      const memorySizeMb = requestedMemoryOf(
        fn,
        Array.isArray(memoryHeader) ? memoryHeader[0] : memoryHeader,
      )
      // The request id Fastify gave this request is the invocation's id too (one UUID, one name).
      const requestId = request.id
      const res = reply.raw
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      // An HTTP function takes an APIG-style event here and answers with the wrapped response.
      const http = servesHttp(fn.runtime) ? httpRequestFromEvent(body) : undefined
      const invoked = await deps.invoker.invoke({
        caller: callerPresenceOf(res),
        fn,
        version: fn.version,
        alias: alias?.name ?? '',
        requestId,
        payload: http === undefined ? body : http.body,
        invokeType: 'sync',
        ...(http === undefined ? {} : { http: http.meta }),
        ...(memorySizeMb === undefined ? {} : { memorySizeMb }),
        ...(typeof request.headers.traceparent === 'string'
          ? { traceparent: request.headers.traceparent }
          : {}),
      })
      const result =
        invoked.http === undefined
          ? invoked
          : { ...invoked, body: wrapHttpResponse(invoked.http, invoked.body), bodyIsText: false }
      const wantsTail = String(request.headers['x-cff-log-type'] ?? '').toLowerCase() === 'tail'
      const v1 = String(request.headers['x-cff-request-version'] ?? '').toLowerCase() === 'v1'
      const failed = result.kind === 'function-error'
      const r = result.record
      reply
        .header('x-request-id', request.id)
        .header('x-cff-request-id', requestId)
        .header('x-cff-response-version', v1 ? 'v1' : 'v0')
        .header(
          'x-cff-invoke-summary',
          JSON.stringify({
            duration: r.durationMs,
            billingDuration: r.billedDurationMs,
            memorySize: r.memorySizeMb,
            memoryUsed: r.memoryUsedMb,
            // Strato addition: which version served (an alias may route to several).
            version: r.version,
          }),
        )
        .header('x-cff-billing-duration', String(r.billedDurationMs))
        .header('x-is-func-err', failed ? 'true' : 'false')
        .header('x-func-err-code', failed ? '500' : '0')
      // The log text is formatted only when the caller asked for it.
      const log = wantsTail ? formatInvocationLog(r) : ''
      if (wantsTail) {
        reply.header(
          'x-cff-function-log',
          tail(log, Limits.LOG_TAIL_HEADER_BYTES).toString('base64'),
        )
      }
      if (v1) {
        return reply.header('content-type', 'application/json').send({
          request_id: requestId,
          result: result.body.toString('utf8'),
          log: wantsTail ? tail(log, Limits.LOG_TAIL_BODY_BYTES).toString('utf8') : '',
          status: failed ? 500 : 200,
        })
      }
      return reply
        .header(
          'content-type',
          result.bodyIsText ? 'text/plain; charset=utf-8' : 'application/json',
        )
        .send(result.body)
    },
  )
}
