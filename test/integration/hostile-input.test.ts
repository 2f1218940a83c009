/**
 * Hostile inputs from the fault checklist that the core must already survive (isolation-and-faults
 * §4): log floods, pathological JSON, lying Content-Length, handlers that never answer.
 */
import net from 'node:net'
import { expect, test } from 'vitest'
import { PROJECT_ID, signedHeaderLines } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { inlineFunction } from '../helpers/code.js'

const strato = useStrato()

test('a function printing without end is cut at the log cap; Strato memory stays flat and the next call works', async () => {
  await strato.client.createFunction(
    inlineFunction(
      'flood',
      'exports.handler = async (e) => { if (e.flood) { const line = "y".repeat(1023) + "\\n"; for (let i = 0; i < 200_000; i++) process.stdout.write(line) } return "survived" }',
      { timeout: 60 },
    ),
  )
  const before = process.memoryUsage().rss
  const res = await strato.client.invoke('flood', '{"flood":true}', { tail: true })
  expect(res.result).toBe('survived')
  expect(res.log).toContain('[log truncated: the limit is 1048576 bytes per invocation]')
  const logs = await strato.client.logs('flood', { request_id: res.requestId })
  const stored = (logs.logs as Array<{ log: string }>)[0]?.log ?? ''
  expect(stored.length).toBeLessThan(1_100_000)
  // 200 MB went through the function's stdout; the platform kept at most its cap of it.
  expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024)
  expect((await strato.client.invoke('flood', '{}')).result).toBe('survived')
})

test('pathological JSON: 100k nested brackets parse without harm; Python answers with a RecursionError, not a crash', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  // The create body parses; it is then refused for what it lacks (no runtime), not for its depth.
  const create = await strato.client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions`,
    `{"func_name":"deep","x":${deep}}`,
  )
  expect(create.status).toBe(400)
  expect(JSON.parse(create.body.toString()).error_code).toBe('FSS.1005')
  await strato.client.createFunction(
    inlineFunction('depth', 'exports.handler = async (e) => Array.isArray(e) ? "array" : typeof e'),
  )
  expect((await strato.client.invoke('depth', deep)).result).toBe('array')
  await strato.client.createFunction(
    inlineFunction('py-depth', 'def handler(event, context):\n    return "never"\n', {
      runtime: 'Python3.10',
    }),
  )
  const py = await strato.client.invoke('py-depth', deep).catch((e: unknown) => e)
  // Python's json module gives up on the depth: the event is refused as invalid, and the
  // instance keeps serving.
  expect((py as { errorCode?: string }).errorCode).toBe('FSS.0400')
  expect((await strato.client.invoke('py-depth', '{}')).result).toBe('never')
  expect((await fetch(`${strato.url}/strato/health`)).status).toBe(200)
})

test('a Content-Length longer than the body sent is cut at the request timeout, never half-parsed', async () => {
  await strato.client.createFunction(
    inlineFunction(
      'never-called',
      'exports.handler = async () => { throw new Error("must not run") }',
    ),
  )
  const { port, host } = new URL(strato.url)
  const body = '{"complete":false}'
  const url = `${strato.url}/v2/${PROJECT_ID}/fgs/functions/never-called/invocations`
  const head = signedHeaderLines(url, body)
  const socket = net.connect(Number(port), '127.0.0.1')
  await new Promise<void>((r) => socket.once('connect', () => r()))
  // Announces 10 bytes more than it sends, then goes quiet.
  socket.write(
    `POST /v2/${PROJECT_ID}/fgs/functions/never-called/invocations HTTP/1.1\r\nhost: ${host}\r\n${head}\r\ncontent-length: ${body.length + 10}\r\n\r\n${body}`,
  )
  await new Promise((r) => setTimeout(r, 300))
  socket.destroy()
  const page = await strato.client.logs('never-called')
  expect(page.count).toBe(0)
})

test('a handler that never settles its promise ends at its timeout', async () => {
  await strato.client.createFunction(
    inlineFunction('never-settles', 'exports.handler = () => new Promise(() => {})', {
      timeout: 3,
    }),
  )
  const started = Date.now()
  const res = await strato.client.invoke('never-settles', '{}')
  expect(JSON.parse(res.result).errorType).toBe('TimeoutError')
  expect(Date.now() - started).toBeLessThan(4500)
})
