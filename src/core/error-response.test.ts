import { describe, expect, test } from 'vitest'
import { errorResponse } from './error-response.js'
import { ErrorCodes, StratoError, type ErrorCode } from './errors.js'

describe('errorResponse (core)', () => {
  test('every row of the table answers with its status, FSS code and message', () => {
    for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
      const spec = ErrorCodes[code]
      const r = errorResponse(new StratoError(code))
      expect([code, r.status, r.body]).toEqual([
        code,
        spec.status,
        { error_code: spec.fss, error_msg: spec.message },
      ])
    }
  })

  test('a StratoError with a detail answers with the detail, and is the error it describes', () => {
    const err = new StratoError(
      'REQUEST_TOO_LARGE',
      'Payload is 7340032 bytes; the limit is 6291456',
    )
    const r = errorResponse(err)
    expect(r).toEqual({
      status: 413,
      body: { error_code: 'FSS.0413', error_msg: 'Payload is 7340032 bytes; the limit is 6291456' },
      headers: { 'content-type': 'application/json' },
      error: err,
    })
    expect(r.error).toBe(err)
  })

  test('workflow (FGS) errors carry the request id in the body; FSS errors do not', () => {
    const flow = errorResponse(new StratoError('FLOW_NOT_FOUND'), { requestId: 'req-1' })
    expect(flow.body).toEqual({
      error_code: 'FGS.5002',
      error_msg: ErrorCodes.FLOW_NOT_FOUND.message,
      request_id: 'req-1',
    })
    const fn = errorResponse(new StratoError('FUNCTION_NOT_FOUND'), { requestId: 'req-2' })
    expect(Object.keys(fn.body)).toEqual(['error_code', 'error_msg'])
  })

  test("the gateway's own errors keep their APIG codes", () => {
    expect(
      errorResponse(new StratoError('GATEWAY_NO_ROUTE', 'No API matches GET /x.')),
    ).toMatchObject({
      status: 404,
      body: { error_code: 'APIG.0101', error_msg: 'No API matches GET /x.' },
    })
    expect(errorResponse(new StratoError('GATEWAY_TIMEOUT')).body.error_code).toBe('APIG.0201')
    expect(errorResponse(new StratoError('GATEWAY_UNAUTHORIZED')).status).toBe(401)
  })

  test.each([
    ['an Error', new Error('disk full')],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['an object with a status', { statusCode: 404, message: 'not translated here' }],
  ])('%s becomes INTERNAL FSS.0500, kept as the cause', (_what, thrown) => {
    const r = errorResponse(thrown)
    expect(r.status).toBe(500)
    expect(r.body).toEqual({ error_code: 'FSS.0500', error_msg: 'Internal server error.' })
    expect(r.error.code).toBe('INTERNAL')
    expect(r.error.cause).toBe(thrown)
    expect(r.error.spec.user).toBe(false)
  })

  test('closeConnection adds Connection: close; otherwise only the content type', () => {
    const err = new StratoError('REQUEST_TOO_LARGE')
    expect(errorResponse(err, { closeConnection: true }).headers).toEqual({
      'content-type': 'application/json',
      connection: 'close',
    })
    expect(errorResponse(err, { closeConnection: false }).headers).toEqual({
      'content-type': 'application/json',
    })
  })
})
