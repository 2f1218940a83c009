'use strict'
// Strato's guest for Go functions (Go1.x): the function is a Linux executable built against
// FunctionGraph's Go runtime library, which serves Go's net/rpc over HTTP on RUNTIME_API_ADDR.
// This guest (on Node.js) starts the executable at `specialise` with that address on a free
// loopback port, connects as the platform's RPC client, checks `Function.HealthCheck` and says
// `ready`; each `invoke` frame becomes a `Function.Invoke` call on the one connection (net/rpc
// matches replies by sequence number, so calls run concurrently). The executable's stdout and
// stderr are the invocation logs. Frames on fd 3 as every guest (src/runtime/protocol.ts).

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')
const { types } = require('./gob.cjs')
const { dialHttp, RpcError } = require('./go-rpc-client.cjs')

const env = process.env
const MAX_LOG_BYTES = Number(env.STRATO_MAX_LOG_BYTES || 1048576)
const MAX_RESULT_BYTES = Number(env.RUNTIME_MAX_RESP_BODY_SIZE || 6291456)
const MAX_ERROR_MESSAGE_CHARS = 16384
const MAX_STACK_LINES = 50
// The Go runtime exits with 2 on an unrecovered panic or a fatal error (out of memory, say).
const GO_CRASH_EXIT_CODE = 2

// The library's argument types (common.InvokeRequest, common.HealthCheckRequest). gob matches
// struct fields by name, so these definitions decode into the library's own types.
const HEADER = types.map('Header', types.string, types.slice('', types.string))
const INVOKE_REQUEST = types.struct('InvokeRequest', [
  ['Payload', types.bytes],
  ['Header', HEADER],
])
const HEALTH_CHECK_REQUEST = types.struct('HealthCheckRequest', [])

// ---- output and control socket (shared with the other Node.js guests) -------------------------
let outputTail = ''
const io = createGuestIo({
  maxLogBytes: MAX_LOG_BYTES,
  onFrame(header, payload) {
    if (header.t === 'specialise') void specialise(header)
    else if (header.t === 'invoke') void invoke(header, payload)
  },
})
const { send } = io
function writeOut(buf) {
  outputTail = (outputTail + buf.toString('utf8')).slice(-2000)
  io.writeOut(buf)
}

function errorBody(errorType, errorMessage, stackTrace = []) {
  return Buffer.from(JSON.stringify({ errorMessage, errorType, stackTrace }))
}

function initError(errorType, message) {
  send({ t: 'init-error', errorType, out: io.outBytes() }, errorBody(errorType, message))
}

// ---- memory: the executable's resident set (the host prefers the cgroup's peak) ------------
let child
let rssMb = 0
let rssAt = 0
function memoryUsedMb() {
  const now = Date.now()
  if (child && child.pid && now - rssAt > 20) {
    rssAt = now
    try {
      const status = fs.readFileSync('/proc/' + child.pid + '/status', 'latin1')
      const m = /VmRSS:\s+(\d+) kB/.exec(status)
      if (m) rssMb = Number(m[1]) / 1024
    } catch {
      // gone, or out of descriptors: keep the last reading
    }
  }
  return rssMb
}

// ---- starting the executable ----------------------------------------------------------------
let client
let stderrTail = '' // the executable's, for crash summaries
let ready = false
const inFlight = new Set() // ids of invocations sent to the executable

/** A free loopback port (the instance may share the host's network below bubblewrap). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function handlerProblem(root, handler, exe) {
  if (handler === '' || path.isAbsolute(handler) || !exe.startsWith(root + path.sep)) {
    return `The handler '${handler}' must name the executable in the code (for example 'handler' for a binary built with 'go build -o handler').`
  }
  let st
  try {
    st = fs.statSync(exe)
  } catch {
    return `The code has no executable '${handler}': a Go function's handler names the binary built with GOOS=linux GOARCH=amd64 'go build -o ${handler}' at the root of the ZIP.`
  }
  if (!st.isFile()) return `The handler '${handler}' is not a file in the code.`
  if ((st.mode & 0o111) === 0) {
    return `The file '${handler}' is not executable: run 'chmod +x ${handler}' before zipping (zip keeps the mode; a ZIP made on Windows loses it).`
  }
  return undefined
}

// Chosen while a stem cell, off the cold start's path. Below bubblewrap the instance shares the
// host's network and another process could take the port meanwhile: the executable then fails to
// listen, and its start fails with its own message.
const portChosen = freePort().catch((err) => err)

async function specialise(header) {
  for (const [k, v] of Object.entries(header.env || {})) env[k] = v
  const root = path.resolve(env.RUNTIME_CODE_ROOT || '.')
  const handler = env.RUNTIME_HANDLER || ''
  const exe = path.resolve(root, handler)
  const problem = handlerProblem(root, handler, exe)
  if (problem !== undefined) {
    initError('ImportModuleError', problem)
    return
  }
  const port = await portChosen
  if (port instanceof Error) {
    initError('RuntimeStartFailed', 'No loopback port for RUNTIME_API_ADDR: ' + port.message)
    return
  }
  // §5.9's variables the library reads that only this guest knows; the launcher's win.
  const childEnv = {
    RUNTIME_ROOT: __dirname,
    RUNTIME_LOG_DIR: env.TMPDIR || '/tmp',
    RUNTIME_MAX_REQUEST_BODY_SIZE: '6291456',
    ...env,
    RUNTIME_API_ADDR: '127.0.0.1:' + port,
  }
  child = spawn(exe, [], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', writeOut)
  child.stderr.on('data', (c) => {
    stderrTail = (stderrTail + c.toString('utf8')).slice(-65536)
    writeOut(c)
    try {
      fs.writeSync(2, c) // the host keeps a tail of stderr for start failures and OOM
    } catch {
      // host gone
    }
  })
  let ended = false
  child.once('error', (err) => {
    ended = true
    initError(
      'RuntimeStartFailed',
      `The executable '${handler}' could not be started: ${err.message}` +
        (err.code === 'ENOEXEC' ? ' (build it for Linux: GOOS=linux GOARCH=amd64).' : ''),
    )
  })
  // 'close': its output has all arrived, so the logs are complete when the frames go.
  child.once('close', (code, signal) => {
    if (ended) return
    ended = true
    exited(handler, code, signal)
  })
  // The host's start deadline bounds this wait.
  for (;;) {
    if (ended) return
    try {
      client = await dialHttp('127.0.0.1', port)
      break
    } catch (err) {
      if (err.code !== 'ECONNREFUSED') {
        fail(
          `The executable '${handler}' does not serve Go's net/rpc on RUNTIME_API_ADDR: ${err.message}`,
        )
        return
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  try {
    await client.call('Function.HealthCheck', HEALTH_CHECK_REQUEST, {})
  } catch (err) {
    if (ended) return
    fail(
      `The executable '${handler}' does not serve FunctionGraph's Go runtime service (Function.HealthCheck answered: ${err.message}). Register the handler with the FunctionGraph Go runtime library: runtime.Register(handler).`,
    )
    return
  }
  if (ended) return
  client.onClose = () => {
    // The executable closed the connection but lives on: it cannot be reached again.
    if (!ended) {
      writeOut(Buffer.from("[strato] the function's executable closed its RPC connection\n"))
      child.kill('SIGKILL')
    }
  }
  ready = true
  send({ t: 'ready', out: io.outBytes() })

  function fail(message) {
    ended = true
    child.kill('SIGKILL')
    initError('RuntimeStartFailed', message)
  }
}

/**
 * What a Go crash said, from its stderr: `panic: …`, `fatal error: …` and the runtime's
 * out-of-memory line. The goroutine dump that follows them is long enough to push them out of
 * the few KiB of stderr the host keeps, so the guest repeats them last.
 */
function goCrashSummary() {
  const lines = stderrTail
    .split('\n')
    .filter((l) => /^(?:panic: |fatal error: |runtime: out of memory)/.test(l))
  return lines.slice(-3).join('; ').slice(0, 2000)
}

function exited(handler, code, signal) {
  const how = signal ? 'was killed by ' + signal : 'exited with code ' + code
  const crash = code === GO_CRASH_EXIT_CODE ? goCrashSummary() : ''
  if (!ready) {
    initError(
      'RuntimeStartFailed',
      `The executable '${handler}' ${how} before it served on RUNTIME_API_ADDR` +
        (crash ? ` (${crash})` : '') +
        '. Its output ends with: ' +
        outputTail.trim().slice(-1000),
    )
    return
  }
  if (crash) {
    try {
      fs.writeSync(2, '\n[strato] the Go executable crashed: ' + crash + '\n')
    } catch {
      // host gone
    }
  }
  // Each call in flight hears how the executable ended its process: os.Exit(n), or Go's exit code
  // 2 for a crash (a panic in a goroutine the library cannot recover, a fatal error). Failing
  // them here with a result instead would race the instance's death: the host could hand the
  // next call to this instance before it saw the process end.
  if (signal === null) {
    for (const id of inFlight) send({ t: 'exit', id, code, out: io.outBytes() })
  }
  inFlight.clear()
  // The instance is spent; the host replaces it. Its exit status is the executable's.
  process.exit(signal ? 128 + (require('node:os').constants.signals[signal] || 0) : (code ?? 70))
}

// ---- invoking -------------------------------------------------------------------------------
/** net/http's canonical header key (textproto.CanonicalMIMEHeaderKey): Header.Get finds it. */
function canonicalHeaderKey(key) {
  return key.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase())
}

function invokeHeaders(header) {
  const out = {}
  for (const [k, v] of Object.entries(header.headers || {})) out[canonicalHeaderKey(k)] = [v]
  out['X-Cff-Request-Id'] = [header.requestId || '']
  out['X-Cff-Invoke-Type'] = [header.invokeType === 'async' ? 'async' : 'sync']
  if (header.alias && !out['X-Cff-Origin-Version-Tag']) {
    out['X-Cff-Origin-Version-Tag'] = ['!' + header.alias]
  }
  return out
}

function clip(message) {
  const s = String(message)
  return s.length > MAX_ERROR_MESSAGE_CHARS
    ? s.slice(0, MAX_ERROR_MESSAGE_CHARS) + '… [truncated]'
    : s
}

/**
 * The error JSON of a failed call. The library's RPC error is the JSON {errorMessage, errorType,
 * stackTrace}; Huawei's wraps it as {"error_code", "error_msg": "<that JSON>"}; anything else
 * (a hand-written server) is the message itself.
 */
function errorJsonOf(message) {
  let parsed
  try {
    parsed = JSON.parse(message)
  } catch {
    parsed = undefined
  }
  if (parsed && typeof parsed === 'object' && typeof parsed.error_msg === 'string') {
    try {
      const inner = JSON.parse(parsed.error_msg)
      parsed = inner && typeof inner === 'object' ? inner : { errorMessage: parsed.error_msg }
    } catch {
      parsed = { errorMessage: parsed.error_msg }
    }
  }
  if (!parsed || typeof parsed !== 'object' || typeof parsed.errorMessage !== 'string') {
    parsed = { errorMessage: message }
  }
  const stackTrace = Array.isArray(parsed.stackTrace)
    ? parsed.stackTrace.slice(0, MAX_STACK_LINES).map(String)
    : []
  return {
    errorMessage: clip(parsed.errorMessage),
    errorType:
      typeof parsed.errorType === 'string' && parsed.errorType !== ''
        ? parsed.errorType
        : 'FunctionError',
    stackTrace,
  }
}

function failed(id, e) {
  send(
    { t: 'result', id, ok: false, errorType: e.errorType, mem: memoryUsedMb(), out: io.outBytes() },
    Buffer.from(JSON.stringify(e)),
  )
}

function isJson(buf) {
  try {
    JSON.parse(buf.toString('utf8'))
    return true
  } catch {
    return false
  }
}

async function invoke(header, payload) {
  io.resetInvocationLog()
  // The library refuses a nil payload, and gob sends an empty one as nil: an empty event is {}.
  const event = payload.length === 0 ? Buffer.from('{}') : payload
  try {
    JSON.parse(event.toString('utf8'))
  } catch (err) {
    send({ t: 'result', id: header.id, badEvent: true, message: err.message, out: io.outBytes() })
    return
  }
  inFlight.add(header.id)
  let reply
  try {
    reply = await client.call('Function.Invoke', INVOKE_REQUEST, {
      Payload: event,
      Header: invokeHeaders(header),
    })
  } catch (err) {
    if (!(err instanceof RpcError)) return // the executable died: `exited` reports it
    if (!inFlight.delete(header.id)) return
    failed(header.id, errorJsonOf(err.message))
    return
  }
  if (!inFlight.delete(header.id)) return
  const body = Buffer.isBuffer(reply.Payload) ? reply.Payload : Buffer.alloc(0)
  if ((reply.StatusCode ?? 0) !== 200) {
    // The library answers a panic of an async invocation with no error and no status.
    failed(header.id, {
      errorMessage: `The function failed with status ${reply.StatusCode ?? 0} and no error message.`,
      errorType: 'FunctionError',
      stackTrace: [],
    })
    return
  }
  if (body.length > MAX_RESULT_BYTES) {
    failed(header.id, {
      errorMessage: `The function result is ${body.length} bytes; the limit is ${MAX_RESULT_BYTES}.`,
      errorType: 'ResponseTooLarge',
      stackTrace: [],
    })
    return
  }
  // A []byte or string result is the body as it is; a struct arrives JSON-marshalled.
  send(
    {
      t: 'result',
      id: header.id,
      ok: true,
      text: !isJson(body),
      mem: memoryUsedMb(),
      out: io.outBytes(),
    },
    body,
  )
}

// However this process ends (the host closing fd 3, say), the executable ends with it.
process.on('exit', () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

process.on('uncaughtException', (err) => {
  writeOut(
    Buffer.from('[strato] guest error: ' + (err && err.stack ? err.stack : String(err)) + '\n'),
  )
  if (child) child.kill('SIGKILL')
  process.exit(70)
})

// A stem cell: booted, no function yet.
send({ t: 'cell', out: io.outBytes() })
