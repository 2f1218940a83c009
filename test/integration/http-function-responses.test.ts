/**
 * What an HTTP function's response becomes: through the invoke API, the wrapped response keeps the
 * header names as the server spelt them; through the API gateway, the client gets valid HTTP/1.1
 * whatever the server sent (Python's `Content-type`, names repeated in another case, its own
 * framing and hop-by-hop headers). The server is Python's http.server, run unmodified.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { httpFunction, zipFiles } from '../helpers/code.js'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'

let strato: TestStrato
let client: StratoClient
let gateway: string

/** One path per way of answering; BaseHTTPRequestHandler speaks HTTP/1.0 unless told otherwise. */
const PYTHON_APP = `from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0].rsplit("/", 1)[-1]
        if path == "plain":
            body = b"plain text"
            self.send_response(200)
            self.send_header("Content-type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "dups":
            self.send_response(200)
            self.send_header("Content-type", "text/html")
            self.send_header("content-type", "text/plain")
            self.send_header("X-Dup", "a")
            self.send_header("x-dup", "b")
            self.send_header("Set-Cookie", "a=1")
            self.send_header("set-cookie", "b=2")
            self.send_header("__proto__", "p")
            self.end_headers()
            self.wfile.write(b"no length: the body ends when the connection closes")
        elif path == "chunked":
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Content-type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close, X-Hop")
            self.send_header("X-Hop", "for the next hop only")
            self.send_header("Keep-Alive", "timeout=1")
            self.end_headers()
            self.wfile.write(b"5\\r\\nhello\\r\\n6\\r\\n world\\r\\n0\\r\\n\\r\\n")
        elif path == "short":
            # Says 3 bytes, writes more: what follows the 3 bytes is not part of the response.
            self.send_response(200)
            self.send_header("CONTENT-LENGTH", "3")
            self.send_header("Content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"abcdefgh")
        elif path == "empty":
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-type", "application/json")
        self.send_header("Content-Length", "42")
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
`

beforeAll(async () => {
  strato = await startTestStrato({ STRATO_GATEWAY_PORT: '0' })
  client = strato.client
  gateway = strato.running.gatewayUrl
  await client.createFunction(
    httpFunction(
      'py-headers',
      await zipFiles({
        'app.py': PYTHON_APP,
        bootstrap:
          '/opt/function/runtime/python3.10/rtsp/python/bin/python3 -u $RUNTIME_CODE_ROOT/app.py\n',
      }),
    ),
  )
  const urn = String((await client.showConfig('py-headers')).func_urn)
  const created = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/triggers/${urn}`,
    JSON.stringify({
      trigger_type_code: 'APIG',
      trigger_status: 'ACTIVE',
      event_data: {
        name: 'py_headers',
        path: '/py',
        req_method: 'ANY',
        auth: 'NONE',
        match_mode: 'SWA',
        protocol: 'HTTPS',
        env_name: 'RELEASE',
        type: 1,
        func_info: { timeout: 10_000, invocation_type: 'sync' },
      },
    }),
  )
  expect(created.status).toBe(201)
}, 60_000)
afterAll(async () => {
  await strato.close()
})

interface RawResponse {
  statusLine: string
  /** Header lines in order, as sent. */
  headers: Array<[string, string]>
  body: Buffer
}

/** One request over a fresh connection; the whole answer as bytes, split at the blank line. */
function rawRequest(method: string, path: string): Promise<RawResponse> {
  const url = new URL(gateway)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname)
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      const [statusLine = '', ...lines] = all.subarray(0, end).toString('latin1').split('\r\n')
      resolve({
        statusLine,
        headers: lines.map((l) => {
          const colon = l.indexOf(':')
          return [l.slice(0, colon), l.slice(colon + 1).trim()]
        }),
        body: all.subarray(end + 4),
      })
    })
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)
  })
}

function valuesOf(r: RawResponse, name: string): string[] {
  return r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
}

/** What every answer must be: one framing, the body it announces, each field name once. */
function expectValidHttp(r: RawResponse, method = 'GET'): void {
  const lengths = valuesOf(r, 'content-length')
  const status = Number(r.statusLine.split(' ')[1])
  expect(valuesOf(r, 'transfer-encoding')).toEqual([])
  expect(valuesOf(r, 'connection')).toEqual(['close'])
  expect(valuesOf(r, 'keep-alive')).toEqual([])
  if (status === 204) {
    expect(lengths).toEqual([])
  } else {
    expect(lengths).toHaveLength(1)
  }
  if (method !== 'HEAD') {
    expect(r.body.length).toBe(Number(lengths[0] ?? 0))
  }
  // Set-Cookie is the one field that may repeat (RFC 9110 §5.3); any other goes out once.
  const names = r.headers.map(([n]) => n.toLowerCase()).filter((n) => n !== 'set-cookie')
  expect(names).toEqual([...new Set(names)])
}

interface Wrapped {
  statusCode: number
  headers: Record<string, string[]>
  body: string
}

async function invoke(path: string, httpMethod = 'GET'): Promise<Wrapped> {
  const res = await client.invoke('py-headers', JSON.stringify({ httpMethod, path }))
  expect(res.isFunctionError).toBe(false)
  expect(res.summary.memoryUsed).toBeGreaterThan(1)
  return JSON.parse(res.result) as Wrapped
}

describe("Python http.server's spelling: Content-type", () => {
  test('the invoke API keeps the name as the server spelt it', async () => {
    const w = await invoke('/py/plain')
    expect(w.statusCode).toBe(200)
    expect(w.headers['Content-type']).toEqual(['text/plain; charset=utf-8'])
    expect(Object.keys(w.headers).filter((k) => k.toLowerCase() === 'content-type')).toEqual([
      'Content-type',
    ])
    expect(Buffer.from(w.body, 'base64').toString()).toBe('plain text')
  })

  test('the gateway sends it once, with the body and its length', async () => {
    const r = await rawRequest('GET', '/py/plain')
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expectValidHttp(r)
    expect(valuesOf(r, 'content-type')).toEqual(['text/plain; charset=utf-8'])
    expect(r.body.toString()).toBe('plain text')
  })
})

describe('names repeated in another case', () => {
  test('the invoke API gathers them under the first spelling, in order', async () => {
    const w = await invoke('/py/dups')
    expect(w.headers['Content-type']).toEqual(['text/html', 'text/plain'])
    expect(w.headers['X-Dup']).toEqual(['a', 'b'])
    expect(w.headers['Set-Cookie']).toEqual(['a=1', 'b=2'])
    expect(w.headers['content-type']).toBeUndefined()
    expect(w.headers['x-dup']).toBeUndefined()
    // A name that is special in JavaScript is only a name.
    expect(Object.getOwnPropertyDescriptor(w.headers, '__proto__')?.value).toEqual(['p'])
  })

  test('the gateway sends one Content-Type (the first), a list as one line, each cookie on its own', async () => {
    const r = await rawRequest('GET', '/py/dups')
    expectValidHttp(r)
    expect(valuesOf(r, 'content-type')).toEqual(['text/html'])
    expect(valuesOf(r, 'x-dup')).toEqual(['a, b'])
    expect(valuesOf(r, 'set-cookie')).toEqual(['a=1', 'b=2'])
    expect(valuesOf(r, '__proto__')).toEqual(['p'])
    expect(r.body.toString()).toBe('no length: the body ends when the connection closes')
  })
})

describe("the server's own framing never reaches the client", () => {
  test('a chunked HTTP/1.1 answer with Connection-listed and Keep-Alive headers', async () => {
    const w = await invoke('/py/chunked')
    expect(Buffer.from(w.body, 'base64').toString()).toBe('hello world')
    expect(Object.keys(w.headers).map((k) => k.toLowerCase())).not.toContain('x-hop')
    const r = await rawRequest('GET', '/py/chunked')
    expectValidHttp(r)
    expect(valuesOf(r, 'x-hop')).toEqual([])
    expect(r.body.toString()).toBe('hello world')
  })

  test('a Content-Length shorter than what the server wrote: the announced bytes, once', async () => {
    const w = await invoke('/py/short')
    expect(Buffer.from(w.body, 'base64').toString()).toBe('abc')
    const r = await rawRequest('GET', '/py/short')
    expectValidHttp(r)
    expect(r.body.toString()).toBe('abc')
  })

  test('204 goes out without Content-Length; HEAD keeps the length the server announced', async () => {
    const empty = await rawRequest('GET', '/py/empty')
    expect(empty.statusLine).toBe('HTTP/1.1 204 No Content')
    expectValidHttp(empty)
    expect(empty.body.length).toBe(0)
    const head = await rawRequest('HEAD', '/py/plain')
    expectValidHttp(head, 'HEAD')
    expect(valuesOf(head, 'content-length')).toEqual(['42'])
    expect(valuesOf(head, 'content-type')).toEqual(['application/json'])
    expect(head.body.length).toBe(0)
  })
})
