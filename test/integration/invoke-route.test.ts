/**
 * The sync invoke route as the lean route serves it (node:http, before Fastify): the same answers,
 * errors and headers the Fastify route gave, and what it leaves to Fastify still answered in
 * FunctionGraph's format.
 */
import { beforeAll, describe, expect, test } from 'vitest'
import { PROJECT_ID, signedHeaders } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { inlineFunction } from '../helpers/code.js'

const strato = useStrato()
const { client } = strato

const NAME = 'lean-route'
const URN = `urn:fss:local-1:${PROJECT_ID}:function:default:${NAME}:latest`
const BODY = '{"hello":"world"}'
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

beforeAll(async () => {
  await client.createFunction(
    inlineFunction(NAME, 'exports.handler = async (event) => ({ hello: event.hello })'),
  )
})

const pathOf = (urn: string, project = PROJECT_ID): string =>
  `/v2/${project}/fgs/functions/${urn}/invocations`

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = signedHeaders(`${strato.url}${path}`, body),
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${strato.url}${path}`, { method: 'POST', headers, body })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

describe('answers', () => {
  test('a warm call: 200, one request id in both headers, the invoke summary, an exact content-length', async () => {
    const res = await post(pathOf(URN), BODY)
    expect(res.status).toBe(200)
    expect(res.text).toBe(BODY)
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(UUID_V7)
    expect(res.headers.get('x-cff-request-id')).toBe(id)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(BODY)))
    expect(res.headers.get('x-cff-response-version')).toBe('v0')
    expect([res.headers.get('x-is-func-err'), res.headers.get('x-func-err-code')]).toEqual([
      'false',
      '0',
    ])
    const summary = JSON.parse(res.headers.get('x-cff-invoke-summary') ?? '') as Record<
      string,
      unknown
    >
    expect(summary).toMatchObject({ memorySize: 128, version: 'latest' })
    expect(res.headers.get('x-cff-billing-duration')).toBe(String(summary.billingDuration))
    // The tail of the log comes back when asked for.
    const tailed = await client.invoke(NAME, BODY, { tail: true })
    expect([tailed.status, tailed.result]).toEqual([200, BODY])
    expect(tailed.log).toContain(tailed.requestId)
  })

  test('a percent-encoded URN and a query string, both signed as sent, are served', async () => {
    const encoded = pathOf(URN.replaceAll(':', '%3A'))
    expect((await post(encoded, BODY)).text).toBe(BODY)
    const withQuery = `${pathOf(URN)}?x=1&a=b%20c`
    expect((await post(withQuery, BODY)).text).toBe(BODY)
  })

  test('v1 wraps the result with the request id', async () => {
    const path = pathOf(URN)
    const headers = {
      ...signedHeaders(`${strato.url}${path}`, BODY),
      'x-cff-request-version': 'v1',
    }
    const res = await post(path, BODY, headers)
    expect(res.status).toBe(200)
    const v1 = JSON.parse(res.text) as Record<string, unknown>
    expect(v1).toEqual({
      request_id: res.headers.get('x-request-id'),
      result: BODY,
      log: '',
      status: 200,
    })
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)))
  })
})

describe('errors, in FunctionGraph format with the request id', () => {
  const expectError = (
    res: { status: number; headers: Headers; text: string },
    status: number,
    code: string,
  ): void => {
    expect(res.status).toBe(status)
    const body = JSON.parse(res.text) as { error_code: string; error_msg: string }
    expect(body.error_code).toBe(code)
    expect(body.error_msg).not.toBe('')
    expect(res.headers.get('x-request-id')).toMatch(UUID_V7)
    expect(res.headers.get('content-type')).toBe('application/json')
  }

  test('unsigned: 401 FSS.0401', async () => {
    expectError(
      await post(pathOf(URN), BODY, { 'content-type': 'application/json' }),
      401,
      'FSS.0401',
    )
  })

  test('a body other than the one signed: 401 FSS.0401', async () => {
    const path = pathOf(URN)
    const headers = signedHeaders(`${strato.url}${path}`, BODY)
    expectError(await post(path, '{"hello":"mallory"}', headers), 401, 'FSS.0401')
  })

  test("another project's path: 403 FSS.0403", async () => {
    const other = 'ffffffffffffffffffffffffffffffff'
    expectError(await post(pathOf(URN, other), BODY), 403, 'FSS.0403')
  })

  test('no such function: 404 FSS.1051', async () => {
    expectError(await post(pathOf(URN.replace(NAME, 'nobody-here')), BODY), 404, 'FSS.1051')
  })

  test('a body over 6 MiB: 413 FSS.0413 and the connection closes', async () => {
    const big = `"${'x'.repeat(6 * 1024 * 1024)}"`
    const res = await post(pathOf(URN), big)
    expectError(res, 413, 'FSS.0413')
    expect(res.headers.get('connection')).toBe('close')
  })
})

describe('what the lean route leaves to Fastify', () => {
  test('another method on the path: FSS-format 404', async () => {
    const res = await fetch(`${strato.url}${pathOf(URN)}`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error_code: string }).error_code).toBe('FSS.0404')
  })

  test('a malformed percent-escape or an over-long parameter: an FSS-format 4xx', async () => {
    for (const path of [pathOf('urn%zz'), pathOf('u'.repeat(2000))]) {
      const res = await post(path, BODY)
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
      expect((JSON.parse(res.text) as { error_code: string }).error_code).toMatch(/^FSS\.\d{4}$/)
    }
  })
})
