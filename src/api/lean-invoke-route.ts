/**
 * @module The lean invoke route: `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations`
 * served on node:http before Fastify sees the request. It is Strato's hot path, and Fastify's
 * per-request machinery (request and reply objects, a child logger, hook runners, the content-type
 * parser, the reply's header and serializer steps) was a third of the API process's CPU per warm
 * invocation (profile in ADR 0031). The route does exactly what the Fastify route and its hooks did,
 * in the same order: signature precheck before the body is read, the body limit with its 413, the
 * signature and project check, then `answerSyncInvocation`, which both routes share; errors are
 * answered by the same `errorResponse` and logged by the same `logAnsweredError`. Anything it does
 * not take apart itself (another method, bad percent-encoding, an over-long parameter) goes on to
 * Fastify, which answers as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  Limits,
  StratoError,
  callerPresenceOf,
  errorResponse,
  newRequestId,
} from '../core/index.js'
import type { ApiDeps } from './deps.js'
import {
  DISCARD_PAST_LIMIT_BYTES,
  discardBody,
  logAnsweredError,
  toStratoError,
} from './error-handler.js'
import { answerSyncInvocation } from './routes/invocations.js'

/** Takes the request and answers it (true), or leaves it to Fastify (false). */
export type LeanRoute = (req: IncomingMessage, res: ServerResponse) => boolean

const INVOKE_PATH = /^\/v2\/([^/?#]+)\/fgs\/functions\/([^/?#]+)\/invocations(?:\?|$)/

const BODY_LIMIT_BYTES = Limits.SYNC_PAYLOAD_MAX_BYTES

/** A raw path parameter, decoded as the router decodes it; undefined leaves the request to Fastify. */
function paramOf(raw: string | undefined, maxLength: number): string | undefined {
  if (raw === undefined || raw.length > maxLength) {
    return undefined
  }
  if (!raw.includes('%')) {
    return raw
  }
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}

/** The body is over the route's limit (Fastify's FST_ERR_CTP_BODY_TOO_LARGE, answered the same). */
class BodyTooLarge extends Error {}

/** The request body, whole; rejects past `limit` bytes (declared or received) and when cut off. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) {
    return Promise.reject(new BodyTooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        stop()
        reject(new BodyTooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      stop()
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    }
    const onError = (err: Error): void => {
      stop()
      // Node's 'aborted' (the client went away mid-upload, or a request timeout cut it): the
      // caller's doing, as Fastify's body reader answered it, not Strato's.
      reject(
        new StratoError('CLIENT_CLOSED', 'The caller went away while sending the request.', {
          cause: err,
        }),
      )
    }
    const onClose = (): void => {
      stop()
      reject(new StratoError('CLIENT_CLOSED', 'The caller went away while sending the request.'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/**
 * The lean route for `deps`; `maxParamLength` is the router's (longer parameters go to Fastify).
 * While `closing()` (the app is shutting down) every answer says `Connection: close`, as Fastify's
 * routes do then, so kept-alive clients leave a draining server.
 */
export function leanInvokeRoute(
  deps: ApiDeps,
  maxParamLength: number,
  closing: () => boolean,
): LeanRoute {
  return (req, res) => {
    const url = req.url
    // A NUL escape is Fastify's hooks' to refuse (build-app.ts), as for every other /v2 route.
    if (
      req.method !== 'POST' ||
      url === undefined ||
      !url.startsWith('/v2/') ||
      url.includes('%00')
    ) {
      return false
    }
    const m = INVOKE_PATH.exec(url)
    if (m === null) {
      return false
    }
    const projectId = paramOf(m[1], maxParamLength)
    const functionUrn = paramOf(m[2], maxParamLength)
    if (projectId === undefined || functionUrn === undefined) {
      return false
    }
    void serve(deps, req, res, url, projectId, functionUrn, closing)
    return true
  }
}

/**
 * Below this size a body goes out as a latin1 string (the same bytes): node:http then writes the
 * head and the body as one string in one write, where a Buffer takes a corked two-chunk writev
 * through the stream machinery. Measured on a bare server with these headers: 2.5–4 µs less per
 * response. Larger bodies stay Buffers (no copy of megabytes).
 */
const STRING_BODY_MAX_BYTES = 16 * 1024

function endWith(res: ServerResponse, body: Buffer): void {
  if (body.length <= STRING_BODY_MAX_BYTES) {
    res.end(body.toString('latin1'), 'latin1')
  } else {
    res.end(body)
  }
}

async function serve(
  deps: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  projectId: string,
  functionUrn: string,
  closing: () => boolean,
): Promise<void> {
  // One id names the request and the invocation (as Fastify's genReqId did).
  const requestId = newRequestId()
  try {
    // The checks that need no body first: an unsigned request never makes Strato read 6 MB.
    const prechecked = deps.verifier.precheck(req.headers)
    const body = await readBody(req, BODY_LIMIT_BYTES)
    const principal = deps.verifier.verify(
      { method: 'POST', target, headers: req.headers, body },
      prechecked,
    )
    if (projectId !== principal.projectId) {
      throw new StratoError('FORBIDDEN', `The access key may not act on project '${projectId}'.`)
    }
    const answer = await answerSyncInvocation(deps, {
      params: { project_id: projectId, function_urn: functionUrn },
      headers: req.headers,
      requestId,
      body,
      caller: callerPresenceOf(res),
    })
    const headers = answer.headers
    headers.push('content-length', String(answer.body.length))
    if (closing()) {
      headers.push('connection', 'close')
    }
    res.writeHead(200, headers)
    endWith(res, answer.body)
  } catch (err) {
    await answerError(deps, req, res, requestId, err, closing)
  }
}

async function answerError(
  deps: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  err: unknown,
  closing: () => boolean,
): Promise<void> {
  let error = err
  const tooLarge = err instanceof BodyTooLarge
  if (tooLarge) {
    // Read to its end first (up to a bound), so the client has finished writing when the 413
    // arrives: many clients report EPIPE instead of an answer cut off mid-upload.
    const maxBytes = BODY_LIMIT_BYTES + DISCARD_PAST_LIMIT_BYTES
    if (!(Number(req.headers['content-length']) > maxBytes)) {
      await discardBody(req, maxBytes)
    }
    error = new StratoError(
      'REQUEST_TOO_LARGE',
      `The request body is larger than the limit of ${BODY_LIMIT_BYTES} bytes.`,
    )
  }
  const answer = errorResponse(toStratoError(error), {
    requestId,
    ...(tooLarge || closing() ? { closeConnection: true } : {}),
  })
  logAnsweredError(deps.logger.child({ reqId: requestId }), answer.error)
  if (res.headersSent || res.destroyed) {
    return
  }
  const body = JSON.stringify(answer.body)
  const headers = ['x-request-id', requestId]
  for (const [name, value] of Object.entries(answer.headers)) {
    headers.push(name, value)
  }
  headers.push('content-length', String(Buffer.byteLength(body)))
  res.writeHead(answer.status, headers)
  res.end(body)
}
