/**
 * @module The one place that turns any thrown value into a FunctionGraph error response:
 * `{error_code, error_msg}` with the table's HTTP status and the `X-Request-Id` header.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCodes, StratoError, type ErrorCode } from '../core/index.js'

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

export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const se = toStratoError(err, request.routeOptions.bodyLimit)
  if (se.spec.user) {
    request.log.info({ code: se.code, fss: se.spec.fss }, se.message)
  } else {
    request.log.error({ err: se.cause ?? se, code: se.code }, se.message)
  }
  return reply
    .code(se.spec.status)
    .header('x-request-id', request.id)
    .header('content-type', 'application/json')
    .send({ error_code: se.spec.fss, error_msg: se.message })
}
