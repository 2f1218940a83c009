/**
 * @module The API's error handler: translates Fastify's and Node's own errors into StratoErrors
 * and writes core's `errorResponse` (`{error_code, error_msg}`, the table's HTTP status) with the
 * `X-Request-Id` header.
 */
import type { IncomingMessage } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import {
  ErrorCodes,
  StratoError,
  errorResponse,
  type ErrorCode,
  type ErrorResponseOptions,
} from '../core/index.js'

/** Fastify's and Node's own 4xx errors, by status, to the FSS code that says the same. */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'INVALID_PARAMETER',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'REQUEST_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
}

/** Normalises anything thrown into a StratoError, keeping the original as the cause. */
export function toStratoError(err: unknown, bodyLimitBytes?: number): StratoError {
  if (err instanceof StratoError) {
    return err
  }
  const fe = err as Partial<FastifyError> | undefined
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : undefined
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new StratoError(
      'REQUEST_TOO_LARGE',
      bodyLimitBytes === undefined
        ? 'The request body is too large.'
        : `The request body is larger than the limit of ${bodyLimitBytes} bytes.`,
      { cause: err },
    )
  }
  if (status !== undefined && BY_STATUS[status] !== undefined) {
    const code = BY_STATUS[status] ?? 'INVALID_PARAMETER'
    return new StratoError(code, fe?.message ?? ErrorCodes[code].message, { cause: err })
  }
  return new StratoError('INTERNAL', undefined, { cause: err })
}

/** What the error logs need of a logger (Fastify's request logger, or pino's child). */
export interface ErrorLog {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Logs an answered error: user errors at `info`, others at `error` with their cause. */
export function logAnsweredError(log: ErrorLog, se: StratoError): void {
  if (se.spec.user) {
    // The cause may say more than the answer may (an unknown access key answers as a bad signature).
    const reason = se.cause instanceof Error ? { reason: se.cause.message } : {}
    log.info({ code: se.code, fss: se.spec.fss, ...reason }, se.message)
  } else {
    log.error({ err: se.cause ?? se, code: se.code }, se.message)
  }
}

/** Logs `err` (user errors at `info`, others at `error` with their cause) and answers it. */
export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options?: ErrorResponseOptions,
): FastifyReply {
  const answer = errorResponse(toStratoError(err, request.routeOptions.bodyLimit), {
    ...options,
    requestId: request.id,
  })
  logAnsweredError(request.log, answer.error)
  return reply
    .code(answer.status)
    .header('x-request-id', request.id)
    .headers(answer.headers)
    .send(answer.body)
}

/**
 * How far past a route's body limit a refused body is still read (and thrown away) before the 413
 * goes out. A client still writing when the server closes gets EPIPE, and many (the SDK's axios,
 * Node's http) then report that instead of the 413; a body bigger than this is not worth reading.
 */
export const DISCARD_PAST_LIMIT_BYTES = 16 * 1024 * 1024

/** Reads and drops the rest of a request body, until its end or `maxBytes` in all. */
export function discardBody(raw: IncomingMessage, maxBytes: number): Promise<void> {
  return new Promise((resolve) => {
    if (raw.complete || raw.readableEnded || raw.destroyed) {
      resolve()
      return
    }
    let seen = 0
    const finish = (): void => {
      raw.off('data', onData)
      raw.off('end', finish)
      raw.off('error', finish)
      raw.off('close', finish)
      resolve()
    }
    const onData = (chunk: Buffer): void => {
      seen += chunk.length
      if (seen > maxBytes) {
        finish()
      }
    }
    raw.on('data', onData)
    raw.once('end', finish)
    raw.once('error', finish)
    raw.once('close', finish)
    raw.resume()
  })
}

/**
 * The app's error handler. A body over the route's limit is read to its end first (up to the
 * limit plus `DISCARD_PAST_LIMIT_BYTES`; a larger declared length is answered at once), so the
 * client has finished writing when the 413 arrives; the connection then closes.
 */
export async function handleRouteError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if ((err as Partial<FastifyError> | undefined)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const maxBytes = (request.routeOptions.bodyLimit ?? 0) + DISCARD_PAST_LIMIT_BYTES
    const declared = Number(request.headers['content-length'])
    if (!(declared > maxBytes)) {
      await discardBody(request.raw, maxBytes)
    }
    return sendError(err, request, reply, { closeConnection: true })
  }
  if ((err as Partial<FastifyError> | undefined)?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = (request.headers['content-type'] ?? '').slice(0, 100)
    return sendError(
      new StratoError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Type '${type}' is not accepted here: request bodies of this API are 'application/json'.`,
        { cause: err },
      ),
      request,
      reply,
    )
  }
  return sendError(err, request, reply)
}
