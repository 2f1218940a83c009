/**
 * Answers that say what is wrong with a request (issue 12, defect 8), and the user variables
 * FunctionGraph functions set (issue 12, compatibility).
 */
import net from 'node:net'
import { beforeAll, describe, expect, test } from 'vitest'
import { StratoClient } from '../../src/client/index.js'
import { ACCESS_KEY, PROJECT_ID, SECRET_KEY, signedHeaderLines } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { apiError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

const strato = useStrato()

beforeAll(async () => {
  await strato.client.createFunction(inlineFunction('sink', 'exports.handler = async () => 1'))
})

interface SocketOutcome {
  readonly answer: string
  readonly writeError: string | undefined
  readonly sentBytes: number
}

/** Sends `bodyBytes` to the sync invoke route over a raw socket, as fast as the socket takes it. */
function sendOversized(bodyBytes: number, chunked: boolean): Promise<SocketOutcome> {
  const { port, host } = new URL(strato.url)
  const target = `/v2/${PROJECT_ID}/fgs/functions/sink/invocations`
  const head = signedHeaderLines(`${strato.url}${target}`, '')
  return new Promise((resolve) => {
    let answer = ''
    let writeError: string | undefined
    let sentBytes = 0
    const socket = net.connect(Number(port), '127.0.0.1')
    socket.on('data', (c) => (answer += c.toString()))
    socket.on('error', (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message))
    socket.on('close', () => resolve({ answer, writeError, sentBytes }))
    socket.on('connect', () => {
      const length = chunked ? 'transfer-encoding: chunked' : `content-length: ${bodyBytes}`
      socket.write(`POST ${target} HTTP/1.1\r\nhost: ${host}\r\n${head}\r\n${length}\r\n\r\n`)
      const chunk = Buffer.alloc(64 * 1024, 97)
      const pump = (): void => {
        while (sentBytes < bodyBytes && !socket.destroyed) {
          const piece = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sentBytes))
          sentBytes += piece.length
          const framed = chunked
            ? Buffer.concat([
                Buffer.from(`${piece.length.toString(16)}\r\n`),
                piece,
                Buffer.from('\r\n'),
              ])
            : piece
          if (!socket.write(framed)) {
            socket.once('drain', pump)
            return
          }
        }
        if (chunked && !socket.destroyed) {
          socket.write('0\r\n\r\n')
        }
      }
      pump()
    })
  })
}

test.each([false, true])(
  'invoke: a 7 MiB sync body (chunked: %s) gets 413 FSS.0413, then the connection closes, every time',
  async (chunked) => {
    for (let i = 0; i < 5; i++) {
      const out = await sendOversized(7 * 1024 * 1024, chunked)
      // The whole body went out without EPIPE: Strato read it before answering.
      expect([out.writeError, out.sentBytes]).toEqual([undefined, 7 * 1024 * 1024])
      expect(out.answer).toMatch(/^HTTP\/1.1 413/)
      expect(out.answer.toLowerCase()).toContain('\r\nconnection: close\r\n')
      expect(out.answer).toContain('"error_code":"FSS.0413"')
    }
  },
)

const FUNCTIONS = `/v2/${PROJECT_ID}/fgs/functions`
const HELLO = 'exports.handler = async () => 1'

async function answer(
  res: Promise<{ status: number; body: Buffer }>,
): Promise<{ status: number; code: string; message: string }> {
  const { status, body } = await res
  const parsed = JSON.parse(body.toString()) as { error_code: string; error_msg: string }
  return { status, code: parsed.error_code, message: parsed.error_msg }
}

describe('misleading answers', () => {
  test('a management body sent as text/plain is 415 FSS.0415, like any other type but JSON', async () => {
    const body = JSON.stringify(inlineFunction('as-text', HELLO))
    for (const type of ['text/plain', 'application/xml', 'text/plain; charset=utf-8']) {
      const res = await answer(strato.client.raw('POST', FUNCTIONS, body, { 'content-type': type }))
      expect([res.status, res.code]).toEqual([415, 'FSS.0415'])
      expect(res.message).toContain(type)
    }
  })

  test('a JSON body with __proto__ or constructor.prototype is refused by name; bad JSON says where', async () => {
    const proto = await answer(
      strato.client.raw('POST', FUNCTIONS, '{"func_name":"p","__proto__":{"polluted":true}}'),
    )
    expect([proto.status, proto.code]).toEqual([400, 'FSS.0400'])
    expect(proto.message).toContain("The key '__proto__' is not allowed")
    // Escaped spelling of the same key.
    const escaped = await answer(
      strato.client.raw('POST', FUNCTIONS, '{"\\u005f_proto__":{"polluted":true}}'),
    )
    expect(escaped.message).toContain("'__proto__'")
    const ctor = await answer(
      strato.client.raw('POST', FUNCTIONS, '{"a":{"constructor":{"prototype":{"x":1}}}}'),
    )
    expect(ctor.message).toContain("'constructor.prototype'")
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const garbage = await answer(strato.client.raw('POST', FUNCTIONS, '{"secret":"abc" x'))
    expect([garbage.status, garbage.code]).toEqual([400, 'FSS.0400'])
    expect(garbage.message).toMatch(/^The body is not valid JSON: .*at position 16\.$/)
    expect(garbage.message).not.toContain('abc')
  })

  test('a NUL in a body string or in the query is refused by name, as PostgreSQL cannot store it', async () => {
    const body = JSON.stringify({
      ...inlineFunction('nul-desc', 'exports.handler = async () => 1'),
      description: 'a\0b',
    })
    const inBody = await answer(strato.client.raw('POST', FUNCTIONS, body))
    expect([inBody.status, inBody.code, inBody.message]).toEqual([
      400,
      'FSS.0400',
      "The field 'description' holds a NUL character (\\u0000), which no text may hold.",
    ])
    const inQuery = await answer(strato.client.raw('GET', `${FUNCTIONS}?marker=%00`))
    expect([inQuery.status, inQuery.code]).toEqual([400, 'FSS.0400'])
    expect(inQuery.message).toContain('NUL character (%00)')
    // The sync invoke route too (served before Fastify's hooks otherwise).
    const inInvoke = await answer(
      strato.client.raw('POST', `${FUNCTIONS}/sink%00/invocations`, '{}'),
    )
    expect([inInvoke.status, inInvoke.code]).toEqual([400, 'FSS.0400'])
    // Nothing was made.
    const missing = await answer(strato.client.raw('GET', `${FUNCTIONS}/nul-desc/config`))
    expect(missing.status).toBe(404)
  })

  test('func_name 123 says it must be a string; a missing runtime says it is required', async () => {
    const numeric = await apiError(
      strato.client.createFunction({ ...inlineFunction('x', HELLO), func_name: 123 }),
    )
    expect([numeric.status, numeric.errorCode, numeric.message]).toEqual([
      400,
      'FSS.1002',
      "'func_name' must be a string, got 123.",
    ])
    const noRuntime = await apiError(
      strato.client.createFunction({ ...inlineFunction('no-runtime', HELLO), runtime: undefined }),
    )
    expect([noRuntime.status, noRuntime.errorCode, noRuntime.message]).toEqual([
      400,
      'FSS.1005',
      "'runtime' is required.",
    ])
  })

  test('a 60 KB query string is 414 FSS.0414; 20 KB of headers is 431 FSS.0431', async () => {
    const longQuery = await fetch(`${strato.url}${FUNCTIONS}?q=${'a'.repeat(60_000)}`)
    expect(longQuery.status).toBe(414)
    expect(((await longQuery.json()) as { error_code: string }).error_code).toBe('FSS.0414')
    const bigHeaders = await fetch(`${strato.url}${FUNCTIONS}`, {
      headers: { 'x-filler': 'b'.repeat(20_000) },
    })
    expect(bigHeaders.status).toBe(431)
    expect(((await bigHeaders.json()) as { error_code: string }).error_code).toBe('FSS.0431')
  })

  test('an unknown access key gets the same answer as a wrong signature', async () => {
    const as = (accessKey: string, secretKey: string) =>
      new StratoClient({ endpoint: strato.url, projectId: PROJECT_ID, accessKey, secretKey })
    const unknown = await answer(as('no-such-key', SECRET_KEY).raw('GET', FUNCTIONS))
    const wrongSecret = await answer(as(ACCESS_KEY, 'wrong-secret').raw('GET', FUNCTIONS))
    expect(unknown).toEqual(wrongSecret)
    expect(unknown).toEqual({
      status: 401,
      code: 'FSS.0401',
      message: 'verify aksk signature fail',
    })
  })
})

describe('user variables', () => {
  test("RUNTIME_LOG_LEVEL and other non-platform RUNTIME_ names are accepted and reach the function; the platform's own are refused", async () => {
    await strato.client.createFunction(
      inlineFunction(
        'runtime-vars',
        'exports.handler = async () => ({ level: process.env.RUNTIME_LOG_LEVEL, token: process.env.RUNTIME_TOKEN, name: process.env.RUNTIME_FUNC_NAME })',
        {
          user_data: JSON.stringify({ RUNTIME_LOG_LEVEL: 'DEBUG' }),
          encrypted_user_data: JSON.stringify({ RUNTIME_TOKEN: 's3cret' }),
        },
      ),
    )
    const res = await strato.client.invoke('runtime-vars', '{}')
    expect(JSON.parse(res.result)).toEqual({
      level: 'DEBUG',
      token: 's3cret',
      name: 'runtime-vars',
    })
    await strato.client.createFunction(
      inlineFunction(
        'runtime-vars-py',
        'import os\ndef handler(event, context):\n    return os.environ.get("RUNTIME_LOG_LEVEL")\n',
        { runtime: 'Python3.10', user_data: JSON.stringify({ RUNTIME_LOG_LEVEL: 'WARN' }) },
      ),
    )
    expect((await strato.client.invoke('runtime-vars-py', '{}')).result).toBe('WARN')
    for (const field of ['user_data', 'encrypted_user_data']) {
      for (const reserved of ['RUNTIME_FUNC_NAME', 'RUNTIME_HANDLER', 'RUNTIME_API_ADDR']) {
        const err = await apiError(
          strato.client.createFunction(
            inlineFunction(`reserved-${Math.random().toString(36).slice(2, 8)}`, HELLO, {
              [field]: JSON.stringify({ [reserved]: 'x' }),
            }),
          ),
        )
        expect([err.status, err.errorCode]).toEqual([400, 'FSS.1009'])
        expect(err.message).toContain(`'${reserved}' is reserved`)
      }
    }
  })
})
