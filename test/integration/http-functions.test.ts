/**
 * HTTP functions (`runtime: "http"`): real web apps (Express and Koa installed from npm into the
 * code package, Python's http.server) started by a one-line `bootstrap`, unchanged from how they
 * run locally, invoked through the invoke API with FunctionGraph's wrapped response.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { httpFunction, zipDirectory, zipFiles } from '../helpers/code.js'
import { sandboxProcesses, startTestStrato, tmpDir, type TestStrato } from '../helpers/strato.js'

let strato: TestStrato
let client: StratoClient
let appsDir: string

/** The apps, as a developer would run them locally with `node app.js` or `python3 app.py`. */
const EXPRESS_APP = `const express = require('express')
const app = express()
app.use(express.raw({ type: '*/*', limit: '10mb' }))
app.get('/hello/:name', (req, res) => res.json({ hello: req.params.name, q: req.query, id: req.get('x-cff-request-id') }))
app.post('/echo', (req, res) => res.type(req.get('content-type') || 'application/octet-stream').send(req.body))
app.get('/pid', (req, res) => res.send(String(process.pid)))
app.listen(8000, '127.0.0.1', () => console.log('express listening'))
`
const KOA_APP = `const Koa = require('koa')
const app = new Koa()
app.use(async (ctx) => {
  ctx.set('X-Powered-By-Test', 'koa')
  ctx.body = { method: ctx.method, path: ctx.path, query: ctx.query }
})
app.listen(8000, '127.0.0.1')
`
const PYTHON_APP = `from http.server import BaseHTTPRequestHandler, HTTPServer
import json

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "agent": "python"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
`

beforeAll(async () => {
  appsDir = tmpDir('strato-apps-')
  fs.writeFileSync(path.join(appsDir, 'package.json'), '{"name":"apps","private":true}')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', 'express@4', 'koa@2'], {
    cwd: appsDir,
    stdio: 'ignore',
    timeout: 120_000,
  })
  strato = await startTestStrato()
  client = strato.client
}, 180_000)
afterAll(async () => {
  await strato.close()
  fs.rmSync(appsDir, { recursive: true, force: true })
})

async function deployHttp(
  name: string,
  zip: Buffer,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await client.createFunction(httpFunction(name, zip, extra))
}

interface Wrapped {
  statusCode: number
  headers: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

async function call(name: string, event: Record<string, unknown>): Promise<Wrapped> {
  const res = await client.invoke(name, JSON.stringify(event))
  expect(res.isFunctionError).toBe(false)
  return JSON.parse(res.result) as Wrapped
}

function bodyOf(w: Wrapped): string {
  return Buffer.from(w.body, 'base64').toString('utf8')
}

describe('real web apps run unmodified as HTTP functions', () => {
  test('Express from npm: path params, query, x-cff headers, wrapped response', async () => {
    const zip = await zipDirectory(appsDir, {
      'app.js': EXPRESS_APP,
      bootstrap:
        '/opt/function/runtime/nodejs20.15/rtsp/nodejs/bin/node $RUNTIME_CODE_ROOT/app.js\n',
    })
    await deployHttp('express-app', zip)
    const w = await call('express-app', {
      httpMethod: 'GET',
      path: '/hello/strato',
      queryStringParameters: { a: '1' },
      headers: {},
    })
    expect(w.statusCode).toBe(200)
    expect(w.isBase64Encoded).toBe(true)
    expect(w.headers['Content-Type']).toEqual(['application/json; charset=utf-8'])
    const body = JSON.parse(bodyOf(w)) as { hello: string; q: unknown; id: string }
    expect(body.hello).toBe('strato')
    expect(body.q).toEqual({ a: '1' })
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/)
    // A binary body travels base64 both ways.
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13])
    const echo = await call('express-app', {
      httpMethod: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    })
    expect(Buffer.from(echo.body, 'base64')).toEqual(bytes)
    // The app's console output is the invocation log of its first request.
    const logs = (await client.logs('express-app')) as { logs?: Array<{ log: string }> }
    expect(JSON.stringify(logs)).toContain('express listening')
  })

  test('Koa from npm answers with its own headers', async () => {
    const zip = await zipDirectory(appsDir, {
      'server.js': KOA_APP,
      bootstrap: 'node $RUNTIME_CODE_ROOT/server.js\n',
    })
    await deployHttp('koa-app', zip)
    const w = await call('koa-app', {
      httpMethod: 'PUT',
      path: '/items/7',
      queryStringParameters: { x: 'y' },
    })
    expect(w.statusCode).toBe(200)
    expect(w.headers['X-Powered-By-Test']).toEqual(['koa'])
    expect(JSON.parse(bodyOf(w))).toEqual({ method: 'PUT', path: '/items/7', query: { x: 'y' } })
  })

  test("Python's http.server: status, repeated headers kept as arrays", async () => {
    const zip = await zipFiles({
      'app.py': PYTHON_APP,
      bootstrap:
        '/opt/function/runtime/python3.10/rtsp/python/bin/python3 -u $RUNTIME_CODE_ROOT/app.py\n',
    })
    await deployHttp('py-app', zip)
    const w = await call('py-app', { httpMethod: 'GET', path: '/some/where' })
    expect(w.statusCode).toBe(201)
    expect(w.headers['Set-Cookie']).toEqual(['a=1', 'b=2'])
    expect(JSON.parse(bodyOf(w))).toEqual({ path: '/some/where', agent: 'python' })
  })

  test('two instances of one function listen on port 8000 at the same time', async () => {
    const zip = await zipDirectory(appsDir, {
      'app.js': EXPRESS_APP.replace(
        "app.get('/pid'",
        "app.get('/slow', (req, res) => setTimeout(() => res.send(String(process.pid) + ' ' + require('os').hostname()), 500))\napp.get('/pid'",
      ),
      bootstrap: 'exec node $RUNTIME_CODE_ROOT/app.js\n',
    })
    await deployHttp('twins', zip, { strategy_config: { concurrency: 2 } })
    const [a, b] = await Promise.all([
      call('twins', { httpMethod: 'GET', path: '/slow' }),
      call('twins', { httpMethod: 'GET', path: '/slow' }),
    ])
    expect(a.statusCode).toBe(200)
    expect(b.statusCode).toBe(200)
    const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
      instances: { idle: number }
    }
    expect(info.instances.idle).toBeGreaterThanOrEqual(2)
  })
})

describe("an HTTP function's log", () => {
  test('is capped per invocation, not per instance: output past 1 MiB in all still reaches later logs', async () => {
    // Each request prints 400 KB, then its own marker: three requests are 1.2 MB on one instance.
    const zip = await zipFiles({
      'server.js': `require('node:http').createServer((req, res) => {
  process.stdout.write('x'.repeat(400 * 1024) + '\\n')
  console.log('marker ' + req.url)
  // Output and answer travel apart: give the output time to reach Strato first.
  setTimeout(() => res.end('ok'), 300)
}).listen(8000, '127.0.0.1')`,
      bootstrap: 'exec node $RUNTIME_CODE_ROOT/server.js\n',
    })
    await deployHttp('chatty', zip)
    for (const n of [1, 2, 3]) {
      const res = await client.invoke(
        'chatty',
        JSON.stringify({ httpMethod: 'GET', path: `/r${n}` }),
      )
      expect(res.isFunctionError).toBe(false)
      const { logs } = (await client.logs('chatty', { request_id: res.requestId })) as unknown as {
        logs: Array<{ log: string }>
      }
      expect(logs[0]?.log).toContain(`marker /r${n}`)
    }
  })
})

/** The network helper (src/runtime/netns-dialer.py) holding the namespace of `dataDir`'s instances. */
function helperHolding(dataDir: string): number | undefined {
  const namespaces = new Set(
    sandboxProcesses(dataDir).map((pid) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`)
      } catch {
        return ''
      }
    }),
  )
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('netns-dialer.py')) {
        continue
      }
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        if (namespaces.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          return Number(pid)
        }
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined
}

describe('Strato reaches the server inside the instance without a relay', () => {
  test('connections the server closes are dialled again; a killed network helper is replaced', async () => {
    // A server that closes every connection after one response: each request needs a new dial.
    await deployHttp(
      'one-shot',
      await zipFiles({
        'app.js': `require('http').createServer((q, s) => { s.setHeader('connection', 'close'); s.end('n' + q.url) }).listen(8000, '127.0.0.1')`,
        bootstrap: 'node $RUNTIME_CODE_ROOT/app.js',
      }),
    )
    for (let i = 0; i < 5; i++) {
      expect(bodyOf(await call('one-shot', { httpMethod: 'GET', path: `/${i}` }))).toBe(`n/${i}`)
    }
    const helper = helperHolding(strato.dataDir)
    expect(helper).toBeDefined()
    process.kill(helper as number, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 100))
    // The warm instance keeps serving: a new helper opens its namespace again.
    expect(bodyOf(await call('one-shot', { httpMethod: 'GET', path: '/after' }))).toBe('n/after')
    const again = helperHolding(strato.dataDir)
    expect(again).toBeDefined()
    expect(again).not.toBe(helper)
  })
})

describe('HTTP functions fail precisely', () => {
  test('a bootstrap whose server never listens: RuntimeStartFailed with its stderr', async () => {
    await deployHttp(
      'no-listen',
      await zipFiles({ bootstrap: 'echo "cannot bind: config missing" >&2; exit 3\n' }),
    )
    const res = await client.invoke('no-listen', '{}')
    expect(res.isFunctionError).toBe(true)
    const err = JSON.parse(res.result) as { errorType: string; errorMessage: string }
    expect(err.errorType).toBe('RuntimeStartFailed')
    expect(err.errorMessage).toContain('exited with code 3')
    expect(err.errorMessage).toContain('cannot bind: config missing')
  })

  test('an HTTP function needs the handler bootstrap and a bootstrap file', async () => {
    const bad = await client
      .createFunction(
        httpFunction('wrong-handler', await zipFiles({ bootstrap: 'true' }), {
          handler: 'index.handler',
        }),
      )
      .catch((e: unknown) => e as { errorCode: string; message: string })
    expect((bad as { errorCode: string }).errorCode).toBe('FSS.1003')
    const missing = await client
      .createFunction(httpFunction('no-bootstrap', await zipFiles({ 'app.js': '1' })))
      .catch((e: unknown) => e as { errorCode: string; message: string })
    expect((missing as { message: string }).message).toContain("'bootstrap'")
  })

  test('a response over 6 MB is ResponseTooLarge', async () => {
    await deployHttp(
      'huge',
      await zipFiles({
        'app.js': `require('http').createServer((q, s) => s.end(Buffer.alloc(7 * 1024 * 1024, 97))).listen(8000, '127.0.0.1')`,
        bootstrap: 'node $RUNTIME_CODE_ROOT/app.js',
      }),
    )
    const res = await client.invoke('huge', '{}')
    expect(res.isFunctionError).toBe(true)
    expect((JSON.parse(res.result) as { errorType: string }).errorType).toBe('ResponseTooLarge')
  })
})

test('below the bubblewrap level an HTTP function is refused with a clear reason, not run half-isolated', async () => {
  const weak = await startTestStrato({ STRATO_ISOLATION: 'rlimits' })
  try {
    await weak.client.createFunction(
      httpFunction('needs-netns', await zipFiles({ bootstrap: 'exit 0' })),
    )
    const err = await weak.client.invoke('needs-netns', '{}').catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 500, errorCode: 'FSS.0500' })
    expect((err as Error).message).toContain('need the bubblewrap sandbox')
  } finally {
    await weak.close()
  }
})
