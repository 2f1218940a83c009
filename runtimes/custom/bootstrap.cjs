'use strict'
// Strato's guest for the custom runtime (`Custom`): serves FunctionGraph's runtime API on
// 127.0.0.1 (RUNTIME_API_ADDR) inside the instance and starts the function's own executable
// `bootstrap`, which long-polls `GET /v1/runtime/invocation/request` for events and answers with
// `POST .../response/{id}` or `POST .../error/{id}`. Towards the host it speaks the same frames
// on fd 3 as the other guests (src/runtime/protocol.ts): `invoke` in, `result` out. The
// bootstrap's stdout and stderr are the invocation logs, counted in every frame's `out`.

const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const os = require('node:os')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')

const env = process.env
const MAX_LOG_BYTES = Number(env.STRATO_MAX_LOG_BYTES || 1048576)
const MAX_RESULT_BYTES = Number(env.RUNTIME_MAX_RESP_BODY_SIZE || 6291456)
const API_PREFIX = '/v1/runtime/invocation/'
// Error JSON travels in one frame: bounded as the other guests bound theirs.
const MAX_ERROR_MESSAGE_CHARS = 16384
const MAX_STACK_LINES = 50

// ---- output and control socket -------------------------------------------------------------
let outputTail = ''
const io = createGuestIo({
  maxLogBytes: MAX_LOG_BYTES,
  onFrame(header, payload) {
    if (header.t === 'invoke') accept(header, payload)
    else if (header.t === 'specialise') specialise(header)
  },
})
const { send, sendSync } = io
function writeOut(buf) {
  outputTail = (outputTail + buf.toString('utf8')).slice(-2000)
  io.writeOut(buf)
}

let bootstrap // the function's process
/**
 * What the bootstrap wrote before it called the runtime API is already in its pipes, but the
 * event loop may hand us the API request first: read the pipes dry before any frame that counts
 * output, so the output lands in the invocation it belongs to.
 */
const drainBuf = Buffer.allocUnsafe(65536)
function drainPipe(stream, alsoToStderr) {
  const fd = stream && stream._handle && stream._handle.fd
  if (typeof fd !== 'number' || fd < 0) return
  for (;;) {
    let n
    try {
      n = fs.readSync(fd, drainBuf, 0, drainBuf.length, null)
    } catch {
      return // EAGAIN: nothing more
    }
    if (n <= 0) return
    const chunk = Buffer.from(drainBuf.subarray(0, n))
    writeOut(chunk)
    if (alsoToStderr) copyToStderr(chunk)
  }
}
function drainOutput() {
  if (bootstrap === undefined) return
  drainPipe(bootstrap.stdout, false)
  drainPipe(bootstrap.stderr, true)
}
function copyToStderr(chunk) {
  try {
    fs.writeSync(2, chunk) // the host keeps a tail of stderr for start failures and OOM hints
  } catch {
    // host gone
  }
}

// ---- memory ----------------------------------------------------------------------------------
// The instance's memory is the guest's plus the bootstrap's; one reading per 20 ms is enough.
let memMb = 0
let memAt = 0
function rssKbOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/' + pid + '/status', 'latin1'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}
function memoryUsedMb() {
  const now = Date.now()
  if (now - memAt > 20) {
    let kb = 0
    try {
      kb = process.memoryUsage.rss() / 1024
    } catch {
      // out of descriptors
    }
    if (bootstrap !== undefined && bootstrap.pid !== undefined) kb += rssKbOf(bootstrap.pid)
    memMb = kb / 1024
    memAt = now
  }
  return memMb
}

// ---- invocations -------------------------------------------------------------------------------
/** Invocations the host sent that no GET has taken yet, oldest first. */
const queued = []
/** GETs waiting for an invocation (one per loop the bootstrap runs), oldest first. */
const waiting = []
/** Invocations handed to the bootstrap and not yet answered, by their API id. */
const delivered = new Map()
let ready = false

function accept(header, payload) {
  let event = payload.length === 0 ? Buffer.from('{}') : payload
  try {
    JSON.parse(event.toString('utf8'))
  } catch (err) {
    send({ t: 'result', id: header.id, badEvent: true, message: err.message, out: io.outBytes() })
    return
  }
  // The request id is the API id; two invocations sharing one (never from Strato) stay apart.
  let apiId = header.requestId || String(header.id)
  if (delivered.has(apiId) || queued.some((q) => q.apiId === apiId)) apiId += '-' + header.id
  queued.push({ header, event, apiId })
  dispatch()
}

/** Pairs queued invocations with waiting GETs. */
function dispatch() {
  while (queued.length > 0 && waiting.length > 0) {
    const res = waiting.shift()
    if (res.destroyed || res.socket === null || res.socket.destroyed) continue
    const inv = queued.shift()
    delivered.set(inv.apiId, inv)
    io.resetInvocationLog()
    const h = inv.header.headers || {}
    const headers = {
      'Content-Type': 'application/json',
      'Content-Length': String(inv.event.length),
      'X-Cff-Request-Id': inv.apiId,
      'X-CFF-Access-Key': h['x-cff-access-key'] || '',
      'X-CFF-Secret-Key': h['x-cff-secret-key'] || '',
      'X-CFF-Auth-Token': h['x-cff-auth-token'] || '',
      'X-CFF-Security-Token': h['x-cff-security-token'] || '',
      'X-CFF-Security-Access-Key': h['x-cff-security-access-key'] || '',
      'X-CFF-Security-Secret-Key': h['x-cff-security-secret-key'] || '',
      'X-CFF-Invoke-Type': inv.header.invokeType || 'sync',
    }
    for (const name of [
      'x-cff-workflow-id',
      'x-cff-workflow-run-id',
      'x-cff-workflow-state-id',
      'x-cff-trace-id',
      'traceparent',
    ]) {
      if (h[name]) headers[name] = h[name]
    }
    // What FunctionGraph's Go runtime reads the alias from ("!alias").
    if (inv.header.alias) headers['X-Cff-Origin-Version-Tag'] = '!' + inv.header.alias
    res.writeHead(200, headers)
    res.end(inv.event)
  }
}

function apiError(res, status, message) {
  const body = Buffer.from(JSON.stringify({ errorMessage: message, errorType: 'InvalidRequest' }))
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length })
  res.end(body)
}

/** Reads a request body up to `limit` bytes; `undefined` when it is larger. */
function readBody(req, limit, done) {
  const chunks = []
  let size = 0
  let over = false
  req.on('data', (c) => {
    if (over) return
    size += c.length
    if (size > limit) {
      over = true
      chunks.length = 0
      return
    }
    chunks.push(c)
  })
  req.on('end', () => done(over ? undefined : Buffer.concat(chunks, size), size))
  req.on('error', () => undefined)
}

function boundedErrorJson(raw) {
  let e
  try {
    e = JSON.parse(raw.toString('utf8'))
  } catch {
    e = undefined
  }
  if (e === null || typeof e !== 'object' || Array.isArray(e)) {
    e = { errorMessage: raw.toString('utf8'), errorType: 'Error' }
  }
  const out = {
    errorMessage: typeof e.errorMessage === 'string' ? e.errorMessage : JSON.stringify(e),
    errorType: typeof e.errorType === 'string' && e.errorType !== '' ? e.errorType : 'Error',
    stackTrace: Array.isArray(e.stackTrace) ? e.stackTrace.map(String) : [],
  }
  if (out.errorMessage.length > MAX_ERROR_MESSAGE_CHARS)
    out.errorMessage = out.errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS) + '… [truncated]'
  if (out.stackTrace.length > MAX_STACK_LINES)
    out.stackTrace = out.stackTrace.slice(0, MAX_STACK_LINES)
  return out
}

function isJson(buf) {
  try {
    JSON.parse(buf.toString('utf8'))
    return true
  } catch {
    return false
  }
}

function answer(req, res, kind, apiId) {
  const inv = delivered.get(apiId)
  if (inv === undefined) {
    req.resume()
    apiError(res, 404, "No invocation '" + apiId + "' is waiting for an answer.")
    return
  }
  readBody(req, MAX_RESULT_BYTES, (body, size) => {
    if (delivered.get(apiId) !== inv) {
      apiError(res, 404, "No invocation '" + apiId + "' is waiting for an answer.")
      return
    }
    delivered.delete(apiId)
    drainOutput()
    let header
    let payload
    if (body === undefined) {
      const e = boundedErrorJson(
        Buffer.from(
          JSON.stringify({
            errorType: 'ResponseTooLarge',
            errorMessage:
              'The function ' +
              kind +
              ' is at least ' +
              size +
              ' bytes; the limit is ' +
              MAX_RESULT_BYTES +
              '.',
          }),
        ),
      )
      header = { t: 'result', id: inv.header.id, ok: false, errorType: e.errorType }
      payload = Buffer.from(JSON.stringify(e))
    } else if (kind === 'response') {
      header = { t: 'result', id: inv.header.id, ok: true, text: !isJson(body) }
      payload = body
    } else {
      const e = boundedErrorJson(body)
      header = { t: 'result', id: inv.header.id, ok: false, errorType: e.errorType }
      payload = Buffer.from(JSON.stringify(e))
    }
    header.mem = memoryUsedMb()
    header.out = io.outBytes()
    send(header, payload)
    // An empty answer: whatever the bootstrap prints of it (curl does) stays out of the logs.
    res.writeHead(body === undefined ? 413 : 200, { 'Content-Length': '0' })
    res.end()
  })
}

const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 0 }, (req, res) => {
  const url = (req.url || '').split('?')[0]
  if (url === API_PREFIX + 'request') {
    if (req.method !== 'GET') {
      req.resume()
      apiError(res, 405, 'Use GET ' + url + '.')
      return
    }
    req.resume()
    if (!ready) {
      ready = true
      drainOutput()
      send({ t: 'ready', out: io.outBytes() })
    }
    waiting.push(res)
    res.on('close', () => {
      const i = waiting.indexOf(res)
      if (i >= 0) waiting.splice(i, 1)
    })
    dispatch()
    return
  }
  const m = /^\/v1\/runtime\/invocation\/(response|error)\/([^/]+)$/.exec(url)
  if (m !== null) {
    if (req.method !== 'POST') {
      req.resume()
      apiError(res, 405, 'Use POST ' + url + '.')
      return
    }
    let apiId
    try {
      apiId = decodeURIComponent(m[2])
    } catch {
      apiId = m[2]
    }
    answer(req, res, m[1], apiId)
    return
  }
  req.resume()
  apiError(
    res,
    404,
    'Unknown runtime API path ' +
      url +
      ': GET ' +
      API_PREFIX +
      'request, POST ' +
      API_PREFIX +
      'response/{requestId} or POST ' +
      API_PREFIX +
      'error/{requestId}.',
  )
})
server.keepAliveTimeout = 0

// ---- starting the bootstrap --------------------------------------------------------------------
function initError(errorType, message) {
  send(
    { t: 'init-error', errorType, mem: memoryUsedMb(), out: io.outBytes() },
    Buffer.from(JSON.stringify({ errorMessage: message, errorType, stackTrace: [] })),
  )
}

/**
 * How to run the bootstrap. A `#!/bin/sh` script runs on bash in POSIX mode, as on FunctionGraph,
 * whose /bin/sh is bash: its documented bootstrap uses `set -o pipefail`, which Debian's dash
 * refuses.
 */
function commandOf(file) {
  let head = ''
  try {
    const fd = fs.openSync(file, 'r')
    const buf = Buffer.alloc(256)
    const n = fs.readSync(fd, buf, 0, buf.length, 0)
    fs.closeSync(fd)
    head = buf.toString('latin1', 0, n)
  } catch {
    return { command: file, args: [] }
  }
  const m = /^#!\s*(\/usr)?\/bin\/sh(?:[ \t]+([^\n]*))?\n/.exec(head)
  if (m !== null && fs.existsSync('/bin/bash')) {
    const flags = (m[2] || '').trim()
    return { command: '/bin/bash', args: [...(flags ? [flags] : []), file], argv0: 'sh' }
  }
  return { command: file, args: [] }
}

function specialise(header) {
  for (const [k, v] of Object.entries(header.env || {})) env[k] = v
  // FunctionGraph's variables a custom runtime reads that the host leaves to the family.
  if (!env.RUNTIME_LOG_LEVEL) env.RUNTIME_LOG_LEVEL = 'INFO'
  if (!env.RUNTIME_MAX_REQUEST_BODY_SIZE) env.RUNTIME_MAX_REQUEST_BODY_SIZE = '6291456'
  if (!env.RUNTIME_ROOT) env.RUNTIME_ROOT = path.dirname(__dirname)
  if (!env.RUNTIME_LOG_DIR) env.RUNTIME_LOG_DIR = env.TMPDIR || '/tmp'
  if (loopbackError !== undefined) {
    initError(
      'RuntimeStartFailed',
      "The custom runtime's API cannot be reached on 127.0.0.1 in this instance (" +
        loopbackError +
        '): its network namespace has no working loopback. Run Strato at the bubblewrap sandbox level (or rlimits/none).',
    )
    return
  }
  const address = server.address()
  env.RUNTIME_API_ADDR = '127.0.0.1:' + address.port
  const root = env.RUNTIME_CODE_ROOT || ''
  const file = path.join(root, 'bootstrap')
  let stat
  try {
    stat = fs.statSync(file)
  } catch {
    initError(
      'BootstrapNotFound',
      "The code has no 'bootstrap' file: a custom runtime's bootstrap is an executable at the root of the code that long-polls GET http://$RUNTIME_API_ADDR" +
        API_PREFIX +
        'request.',
    )
    return
  }
  if (!stat.isFile()) {
    initError('BootstrapNotFound', "The code's 'bootstrap' is not a file.")
    return
  }
  try {
    fs.accessSync(file, fs.constants.X_OK)
  } catch {
    initError(
      'BootstrapNotExecutable',
      "The code's 'bootstrap' is not executable (its mode is " +
        (stat.mode & 0o777).toString(8) +
        "): run 'chmod 755 bootstrap' before zipping, with a zip tool that keeps Unix modes.",
    )
    return
  }
  const { command, args, argv0 } = commandOf(file)
  bootstrap = spawn(command, args, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(argv0 ? { argv0 } : {}),
  })
  bootstrap.stdout.on('data', writeOut)
  bootstrap.stderr.on('data', (c) => {
    writeOut(c)
    copyToStderr(c)
  })
  bootstrap.once('error', (err) => {
    if (ready) return
    initError('RuntimeStartFailed', "The function's bootstrap could not be started: " + err.message)
  })
  bootstrap.once('exit', (code, signal) => {
    drainOutput()
    const how = signal ? 'was killed by ' + signal : 'exited with code ' + code
    if (!ready) {
      initError(
        'RuntimeStartFailed',
        "The function's bootstrap " +
          how +
          ' before it asked for an invocation (GET http://$RUNTIME_API_ADDR' +
          API_PREFIX +
          'request). Its output ends with: ' +
          outputTail.trim().slice(-1000),
      )
      return
    }
    // The function's process is gone: the invocations it had taken die with it, with its code.
    const exitCode = signal ? 128 + (os.constants.signals[signal] || 0) : code
    writeOut(Buffer.from("[strato] the function's bootstrap " + how + '\n'))
    for (const inv of delivered.values()) {
      sendSync({ t: 'exit', id: inv.header.id, code: exitCode, out: io.outBytes() })
    }
    process.exit(71)
  })
}

process.on('uncaughtException', (err) => {
  writeOut(
    Buffer.from('[strato] guest error: ' + (err && err.stack ? err.stack : String(err)) + '\n'),
  )
  process.exit(70)
})

// A stem cell: booted, its API listening and reachable, no function yet. A network namespace whose
// loopback is down (the `unshare` sandbox level) cannot carry the API: that is said at specialise,
// at once, rather than as a start timeout.
let loopbackError
server.listen(0, '127.0.0.1', () => {
  const probe = net.connect(server.address().port, '127.0.0.1')
  probe.once('connect', () => {
    probe.destroy()
    send({ t: 'cell', out: io.outBytes() })
  })
  probe.once('error', (err) => {
    loopbackError = err.message
    send({ t: 'cell', out: io.outBytes() })
  })
})
