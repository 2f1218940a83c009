/**
 * @module errorResponse: the one mapper from any thrown value to a FunctionGraph error answer
 * (`{error_code, error_msg}`, the table's HTTP status, its headers). Framework-free: the API's
 * error handler, its client-error answers and the API gateway all write what it returns.
 */
import { StratoError } from './errors.js'

/** FunctionGraph's error body; the workflow API's `FGS.xxxx` errors also carry `request_id`. */
export interface ErrorBody {
  readonly error_code: string
  readonly error_msg: string
  readonly request_id?: string
}

/** The headers an error answer carries, whatever writes it (a type, so it fits header records). */
export type ErrorHeaders = {
  readonly 'content-type': 'application/json'
  readonly connection?: 'close'
}

/** An error answer, ready to write. */
export interface ErrorResponse {
  readonly status: number
  readonly body: ErrorBody
  readonly headers: ErrorHeaders
  /** The error the answer describes (an unknown value becomes `INTERNAL` with it as the cause). */
  readonly error: StratoError
}

export interface ErrorResponseOptions {
  /** The connection closes after the answer (a refused body was drained or left unread). */
  readonly closeConnection?: boolean
  /** The request's id: FGS-coded (workflow) errors repeat it in the body, as Huawei's do. */
  readonly requestId?: string
}

const JSON_HEADERS: ErrorHeaders = Object.freeze({ 'content-type': 'application/json' })
const JSON_CLOSE_HEADERS: ErrorHeaders = Object.freeze({
  'content-type': 'application/json',
  connection: 'close',
})

/**
 * The answer for `err`: a StratoError's row and message (its detail when given), and `INTERNAL`
 * (FSS.0500) for anything else. Framework errors are translated into StratoErrors first (`api`).
 *
 * @example
 * const r = errorResponse(new StratoError('FUNCTION_NOT_FOUND'))
 * // r.status 404, r.body { error_code: 'FSS.1051', error_msg: 'Not found the function' }
 */
export function errorResponse(err: unknown, options?: ErrorResponseOptions): ErrorResponse {
  const error =
    err instanceof StratoError ? err : new StratoError('INTERNAL', undefined, { cause: err })
  const requestId = options?.requestId
  const body: ErrorBody =
    requestId !== undefined && error.spec.fss.startsWith('FGS.')
      ? { error_code: error.spec.fss, error_msg: error.message, request_id: requestId }
      : { error_code: error.spec.fss, error_msg: error.message }
  return {
    status: error.spec.status,
    body,
    headers: options?.closeConnection === true ? JSON_CLOSE_HEADERS : JSON_HEADERS,
    error,
  }
}
