/**
 * @module Synchronous invocation (reference §4.7). `answerSyncInvocation` is the whole route: the
 * lean route (`lean-invoke-route.ts`, on node:http before Fastify) and the Fastify route below both
 * write what it answers, so the two cannot drift. The body stays raw bytes: the event is parsed
 * once, inside the instance, and the signature is checked on those bytes.
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
  type CallerPresence,
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

/** A sync invocation as the route sees it: the path's parameters, the request, its raw body. */
export interface SyncInvocationInput {
  readonly params: FunctionPathParams
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly requestId: string
  readonly body: Buffer
  readonly caller: CallerPresence
}

/**
 * The answer of a sync invocation: headers as a flat `[name, value, …]` list (what
 * `ServerResponse.writeHead` takes without building an object), the body's bytes.
 */
export interface SyncInvocationAnswer {
  readonly headers: string[]
  readonly body: Buffer
}

const firstOf = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v

/**
 * Resolves, invokes and formats the answer; throws StratoErrors (the caller maps them). Always
 * status 200: a function's own error is told by `X-Is-Func-Err`, as FunctionGraph does.
 */
export async function answerSyncInvocation(
  deps: ApiDeps,
  input: SyncInvocationInput,
): Promise<SyncInvocationAnswer> {
  const { headers, requestId, body } = input
  const { fn, alias } = await resolveFunction(deps.resolution, input.params, {
    header: (name) => firstOf(headers[name]),
    cookie: (name) => cookieOf(firstOf(headers.cookie), name),
  })
  // Dynamic memory: served by an instance of the size asked for (FSS.0406 for no such size).
  const memorySizeMb = requestedMemoryOf(fn, firstOf(headers[INSTANCE_MEMORY_HEADER]))
  // An HTTP function takes an APIG-style event here and answers with the wrapped response.
  const http = servesHttp(fn.runtime) ? httpRequestFromEvent(body) : undefined
  const traceparent = headers.traceparent
  const invoked = await deps.invoker.invoke({
    caller: input.caller,
    fn,
    version: fn.version,
    alias: alias?.name ?? '',
    requestId,
    payload: http === undefined ? body : http.body,
    invokeType: 'sync',
    ...(http === undefined ? {} : { http: http.meta }),
    ...(memorySizeMb === undefined ? {} : { memorySizeMb }),
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
  })
  const resultBody =
    invoked.http === undefined ? invoked.body : wrapHttpResponse(invoked.http, invoked.body)
  const bodyIsText = invoked.http === undefined && invoked.bodyIsText
  const logType = headers['x-cff-log-type']
  const wantsTail = typeof logType === 'string' && logType.toLowerCase() === 'tail'
  const version = headers['x-cff-request-version']
  const v1 = typeof version === 'string' && version.toLowerCase() === 'v1'
  const failed = invoked.kind === 'function-error'
  const r = invoked.record
  const out = [
    'x-request-id',
    requestId,
    'x-cff-request-id',
    requestId,
    'x-cff-response-version',
    v1 ? 'v1' : 'v0',
    'x-cff-invoke-summary',
    // Strato addition: `version`, which version served (an alias may route to several).
    `{"duration":${r.durationMs},"billingDuration":${r.billedDurationMs},"memorySize":${r.memorySizeMb},"memoryUsed":${r.memoryUsedMb},"version":${JSON.stringify(r.version)}}`,
    'x-cff-billing-duration',
    String(r.billedDurationMs),
    'x-is-func-err',
    failed ? 'true' : 'false',
    'x-func-err-code',
    failed ? '500' : '0',
  ]
  // The log text is formatted only when the caller asked for it.
  const log = wantsTail ? formatInvocationLog(r) : ''
  if (wantsTail) {
    out.push('x-cff-function-log', tail(log, Limits.LOG_TAIL_HEADER_BYTES).toString('base64'))
  }
  if (v1) {
    out.push('content-type', 'application/json')
    const answer = JSON.stringify({
      request_id: requestId,
      result: resultBody.toString('utf8'),
      log: wantsTail ? tail(log, Limits.LOG_TAIL_BODY_BYTES).toString('utf8') : '',
      status: failed ? 500 : 200,
    })
    return { headers: out, body: Buffer.from(answer, 'utf8') }
  }
  out.push('content-type', bodyIsText ? 'text/plain; charset=utf-8' : 'application/json')
  return { headers: out, body: resultBody }
}

/**
 * The same invocation as a Fastify route: what `app.inject` reaches, and requests the lean route
 * leaves to Fastify (a path it does not take apart itself, such as one with bad percent-encoding).
 */
export function registerInvocationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: Params; Body: Buffer }>(
    '/v2/:project_id/fgs/functions/:function_urn/invocations',
    { bodyLimit: Limits.SYNC_PAYLOAD_MAX_BYTES },
    async (request, reply) => {
      const answer = await answerSyncInvocation(deps, {
        params: request.params,
        headers: request.headers,
        // The request id Fastify gave this request is the invocation's id too (one UUID, one name).
        requestId: request.id,
        body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        caller: callerPresenceOf(reply.raw),
      })
      const h = answer.headers
      for (let i = 0; i < h.length; i += 2) {
        void reply.header(h[i] as string, h[i + 1])
      }
      return reply.send(answer.body)
    },
  )
}
