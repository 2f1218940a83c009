import { errorCodes } from 'fastify'
import { describe, expect, test } from 'vitest'
import { StratoError, errorResponse } from '../core/index.js'
import { toStratoError } from './error-handler.js'

describe('toStratoError (api): Fastify and Node errors feed the one mapper', () => {
  test("a body over the route's limit is 413 FSS.0413 naming the limit", () => {
    const r = errorResponse(toStratoError(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 1048576))
    expect([r.status, r.body]).toEqual([
      413,
      {
        error_code: 'FSS.0413',
        error_msg: 'The request body is larger than the limit of 1048576 bytes.',
      },
    ])
  })

  test("a Fastify error's status picks the row and keeps Fastify's message", () => {
    const r = errorResponse(toStratoError(new errorCodes.FST_ERR_BAD_URL('%E0%A4%A')))
    expect([r.status, r.body]).toEqual([
      400,
      { error_code: 'FSS.0400', error_msg: "'%E0%A4%A' is not a valid url component" },
    ])
    expect(r.error.cause).toBeInstanceOf(Error)
  })

  test('a status without a row, or no status, is INTERNAL', () => {
    const notAcceptable = Object.assign(new Error('Not Acceptable'), { statusCode: 406 })
    expect(errorResponse(toStratoError(notAcceptable)).body.error_code).toBe('FSS.0500')
    expect(errorResponse(toStratoError(new TypeError('x is undefined'))).status).toBe(500)
  })

  test('a StratoError passes through unchanged', () => {
    const err = new StratoError('FUNCTION_NOT_FOUND', 'No function named f.')
    expect(toStratoError(err)).toBe(err)
  })
})
