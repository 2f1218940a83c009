'use strict'
// Strato's guest for HTTP functions: starts the function's own web server (its `bootstrap`), waits
// until it listens on 127.0.0.1:8000, and relays each invocation to it over one kept-alive
// connection. It speaks the same frames on fd 3 as the other guests (src/runtime/protocol.ts); the
// request and response bodies travel as raw frame payloads, their metadata in the frame headers.
// Each instance has its own network namespace, so every instance can listen on port 8000.

const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')

const env = process.env
const PORT = 8000
const MAX_RESULT_BYTES = Number(env.RUNTIME_MAX_RESP_BODY_SIZE || 6291456)
const MAX_LOG_BYTES = Number(env.STRATO_MAX_LOG_BYTES || 1048576)

// ---- output and control socket (shared with the Node.js guest) ------------------------------
// The server's stdout and stderr become the invocation logs.
let outputTail = ''
const io = createGuestIo({
  maxLogBytes: MAX_LOG_BYTES,
  onFrame(header, payload) {
    if (header.t === 'invoke') invoke(header, payload)
    else if (header.t === 'specialise') void specialise(header)
  },
})
const { send } = io
function writeOut(buf) {
  outputTail = (outputTail + buf.toString('utf8')).slice(-2000)
  io.writeOut(buf)
}

function errorBody(errorType, errorMessage) {
  return Buffer.from(JSON.stringify({ errorMessage, errorType, stackTrace: [] }))
}

// ---- starting the function's server --------------------------------------------------------
let server
let listening = false

function canConnect() {
  return new Promise((resolve) => {
    const s = net.connect(PORT, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

function initError(errorType, message) {
  send({ t: 'init-error', errorType, out: io.outBytes() }, errorBody(errorType, message))
}

async function specialise(header) {
  for (const [k, v] of Object.entries(header.env || {})) env[k] = v
  const root = env.RUNTIME_CODE_ROOT || ''
  const bootstrap = path.join(root, 'bootstrap')
  let head
  try {
    const fd = fs.openSync(bootstrap, 'r')
    head = Buffer.alloc(4)
    fs.readSync(fd, head, 0, 4, 0)
    fs.closeSync(fd)
  } catch {
    initError(
      'BootstrapNotFound',
      "The code has no 'bootstrap' file: an HTTP function's bootstrap starts its web server on port 8000.",
    )
    return
  }
  // A compiled server (Go, say) runs as it is; anything else is a shell command line.
  const elf = head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF'
  server = spawn(elf ? bootstrap : '/bin/sh', elf ? [] : [bootstrap], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.on('data', writeOut)
  server.stderr.on('data', (c) => {
    writeOut(c)
    try {
      fs.writeSync(2, c) // the host keeps a tail of stderr for start failures
    } catch {
      // host gone
    }
  })
  let exited = false
  server.once('error', (err) => {
    exited = true
    initError('RuntimeStartFailed', "The function's bootstrap could not be started: " + err.message)
  })
  server.once('exit', (code, signal) => {
    exited = true
    const how = signal ? 'was killed by ' + signal : 'exited with code ' + code
    if (!listening) {
      initError(
        'RuntimeStartFailed',
        "The function's bootstrap " +
          how +
          ' before its server listened on port 8000. Its output ends with: ' +
          outputTail.trim().slice(-1000),
      )
      return
    }
    // The server is gone while serving: this instance is spent; the host replaces it.
    writeOut(Buffer.from("[strato] the function's server " + how + '\n'))
    process.exit(71)
  })
  // The host's start deadline bounds this wait.
  while (!exited && !(await canConnect())) {
    await new Promise((r) => setTimeout(r, 5))
  }
  if (exited) return
  listening = true
  send({ t: 'ready', out: io.outBytes() })
}

// ---- relaying invocations ------------------------------------------------------------------
// One kept-alive connection per invocation in flight (concurrent_num of them at most).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1000, maxFreeSockets: 1000 })
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
])

function reply(header, payload) {
  header.out = io.outBytes()
  send(header, payload)
}

function invoke(header, payload) {
  io.resetInvocationLog()
  const req = header.http
  if (!req) {
    reply({ t: 'result', id: header.id, badEvent: true, message: 'no HTTP request' })
    return
  }
  const headers = {}
  for (const [k, v] of Object.entries(req.headers || {})) {
    if (!HOP_BY_HOP.has(k.toLowerCase())) headers[k] = v
  }
  Object.assign(headers, {
    'content-length': String(payload.length),
    'x-cff-request-id': header.requestId,
    'x-cff-memory': env.RUNTIME_MEMORY || '',
    'x-cff-timeout': env.RUNTIME_TIMEOUT || '',
    'x-cff-func-version': env.RUNTIME_FUNC_VERSION || '',
    'x-cff-func-name': env.RUNTIME_FUNC_NAME || '',
    'x-cff-project-id': env.RUNTIME_PROJECT_ID || '',
    'x-cff-package': env.RUNTIME_PACKAGE || '',
    'x-cff-region': env.RUNTIME_REGION || '',
    'x-cff-invoke-type': header.invokeType || 'sync',
  })
  let done = false
  const fail = (errorType, message) => {
    if (done) return
    done = true
    reply({ t: 'result', id: header.id, ok: false, errorType }, errorBody(errorType, message))
  }
  const r = http.request(
    {
      host: '127.0.0.1',
      port: PORT,
      method: req.method,
      path: (req.path || '/') + (req.query ? '?' + req.query : ''),
      headers,
      agent,
    },
    (res) => {
      const parts = []
      let size = 0
      res.on('data', (c) => {
        size += c.length
        if (size > MAX_RESULT_BYTES) {
          res.destroy()
          fail(
            'ResponseTooLarge',
            "The function's HTTP response body is over " + MAX_RESULT_BYTES + ' bytes.',
          )
          return
        }
        parts.push(c)
      })
      res.on('end', () => {
        if (done) return
        done = true
        // Header names as the server wrote them, each with all its values (FunctionGraph's shape).
        const out = {}
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]
          if (HOP_BY_HOP.has(name.toLowerCase()) && name.toLowerCase() !== 'content-length')
            continue
          ;(out[name] = out[name] || []).push(res.rawHeaders[i + 1])
        }
        reply(
          {
            t: 'result',
            id: header.id,
            ok: true,
            http: { statusCode: res.statusCode, headers: out },
          },
          parts.length === 1 ? parts[0] : Buffer.concat(parts, size),
        )
      })
      res.on('error', (err) =>
        fail('FunctionServerError', "The function's server broke off its response: " + err.message),
      )
    },
  )
  r.on('error', (err) =>
    fail(
      'FunctionServerError',
      "The function's server did not answer on port 8000: " + err.message,
    ),
  )
  r.end(payload)
}

process.on('uncaughtException', (err) => {
  writeOut(
    Buffer.from('[strato] relay error: ' + (err && err.stack ? err.stack : String(err)) + '\n'),
  )
  process.exit(70)
})

// A stem cell: booted, no function yet.
send({ t: 'cell', out: io.outBytes() })
