'use strict'
// Strato's Node.js guest runtime: loads one function's handler and serves invocations sent by the
// host over the control socket on fd 3 (length-prefixed frames, see src/runtime/protocol.ts).
// Everything the function prints goes to fd 1; each result frame says how many bytes of fd 1 belong
// before it, so the host attributes output exactly, even for a function that later times out.
// Plain CommonJS with no dependencies: it starts fast and needs no build.

const fs = require('node:fs')
const path = require('node:path')
const util = require('node:util')
const { pathToFileURL } = require('node:url')
const { createGuestIo } = require('../common/guest-io.cjs')

const env = process.env
// Set when the host specialises this stem cell into an instance of one function.
let CODE_ROOT = ''
const MAX_RESULT_BYTES = Number(env.RUNTIME_MAX_RESP_BODY_SIZE || 6291456)
const MAX_LOG_BYTES = Number(env.STRATO_MAX_LOG_BYTES || 1048576)

// ---- output and control socket (shared with the HTTP-function guest) -----------------------
const io = createGuestIo({
  maxLogBytes: MAX_LOG_BYTES,
  onFrame(header, payload) {
    if (header.t === 'invoke') void invoke(header, payload)
    else if (header.t === 'specialise') void specialise(header)
  },
})
const { send, sendSync } = io
function writeOut(text) {
  if (text.length > 0) io.writeOut(Buffer.from(text, 'utf8'))
}
function captureWrite(chunk, encoding, cb) {
  writeOut(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
  const done = typeof encoding === 'function' ? encoding : cb
  if (typeof done === 'function') process.nextTick(done)
  return true
}
process.stdout.write = captureWrite
process.stderr.write = captureWrite

// ---- the function context ------------------------------------------------------------------
const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 }
let userData = {}
// The function's RUNTIME_LOG_LEVEL (a user_data variable, as in FunctionGraph's samples) sets where
// every logger starts; `setLevel` moves one logger. Anything unknown keeps INFO.
let defaultThreshold = LEVELS.INFO

function thresholdOf(level) {
  const name = String(level).trim().toUpperCase()
  return LEVELS[name === 'WARNING' ? 'WARN' : name]
}

function makeLogger(requestId) {
  let threshold = defaultThreshold
  const line = (level, args) => {
    if (LEVELS[level] < threshold) return
    writeOut(
      new Date().toISOString() + ' ' + requestId + ' ' + level + ' ' + util.format(...args) + '\n',
    )
  }
  return {
    debug: (...a) => line('DEBUG', a),
    info: (...a) => line('INFO', a),
    warn: (...a) => line('WARN', a),
    error: (...a) => line('ERROR', a),
    log: (...a) => line('INFO', a),
    setLevel(level) {
      threshold = thresholdOf(level) ?? threshold
    },
  }
}

function makeContext(inv) {
  const h = inv.headers || {}
  const logger = makeLogger(inv.requestId || '')
  const timeoutMs = Number(env.RUNTIME_TIMEOUT || 3) * 1000
  return {
    getRequestID: () => inv.requestId || '',
    getRemainingTimeInMilliSeconds: () =>
      Math.max(0, (inv.deadline || Date.now() + timeoutMs) - Date.now()),
    getAccessKey: () => h['x-cff-access-key'] || '',
    getSecretKey: () => h['x-cff-secret-key'] || '',
    getSecurityAccessKey: () => h['x-cff-security-access-key'] || '',
    getSecuritySecretKey: () => h['x-cff-security-secret-key'] || '',
    getSecurityToken: () => h['x-cff-security-token'] || '',
    getToken: () => h['x-cff-auth-token'] || '',
    getUserData: (key) => (key in userData ? String(userData[key]) : undefined),
    getFunctionName: () => env.RUNTIME_FUNC_NAME || '',
    // FunctionGraph quirk kept on purpose: the Node runtime returns milliseconds here.
    getRunningTimeInSeconds: () => timeoutMs,
    getVersion: () => env.RUNTIME_FUNC_VERSION || 'latest',
    getMemorySize: () => env.RUNTIME_MEMORY || '',
    getCPUNumber: () => env.RUNTIME_CPU || '',
    getProjectID: () => env.RUNTIME_PROJECT_ID || '',
    getPackage: () => env.RUNTIME_PACKAGE || '',
    getAlias: () => inv.alias || '',
    getLogger: () => logger,
    getWorkflowID: () => h['x-cff-workflow-id'] || '',
    getWorkflowRunID: () => h['x-cff-workflow-run-id'] || '',
    getWorkflowStateID: () => h['x-cff-workflow-state-id'] || '',
    getInvokeID: () => inv.requestId || '',
    getTraceID: () => h['x-cff-trace-id'] || inv.requestId || '',
    getInstanceID: () => env.STRATO_INSTANCE_ID || '',
    getInvokeType: () => inv.invokeType || 'sync',
  }
}

// Errors travel in one frame: keep a huge message or stack from becoming a huge frame.
const MAX_ERROR_MESSAGE_CHARS = 16384
const MAX_STACK_LINES = 50
function toErrorJson(err, fallbackType) {
  const e = describeError(err, fallbackType)
  if (e.errorMessage.length > MAX_ERROR_MESSAGE_CHARS)
    e.errorMessage = e.errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS) + '… [truncated]'
  if (e.stackTrace.length > MAX_STACK_LINES) e.stackTrace = e.stackTrace.slice(0, MAX_STACK_LINES)
  return e
}
function describeError(err, fallbackType) {
  if (err instanceof Error) {
    const lines = String(err.stack || '').split('\n')
    return {
      errorMessage: String(err.message),
      errorType:
        err.name && err.name !== 'Error'
          ? err.name
          : err.constructor && err.constructor.name !== 'Object'
            ? err.constructor.name
            : fallbackType || 'Error',
      stackTrace: lines
        .slice(1)
        .map((l) => l.trim())
        .filter(Boolean),
    }
  }
  if (err && typeof err === 'object' && typeof err.errorMessage === 'string') {
    return {
      errorMessage: err.errorMessage,
      errorType: err.errorType || fallbackType || 'Error',
      stackTrace: err.stackTrace || [],
    }
  }
  let message
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err)
  } catch {
    message = String(err)
  }
  return {
    errorMessage: message === undefined ? String(err) : message,
    errorType: fallbackType || 'Error',
    stackTrace: [],
  }
}

// ---- loading the handler -------------------------------------------------------------------
async function loadExport(handlerSpec, what) {
  const dot = handlerSpec.lastIndexOf('.')
  const modulePath = handlerSpec.slice(0, dot)
  const exportName = handlerSpec.slice(dot + 1)
  let file
  for (const ext of ['.js', '.cjs', '.mjs']) {
    const candidate = path.join(CODE_ROOT, modulePath + ext)
    if (fs.existsSync(candidate)) {
      file = candidate
      break
    }
  }
  if (file === undefined) {
    const e = new Error(
      "Cannot find module '" +
        modulePath +
        "' for the " +
        what +
        " '" +
        handlerSpec +
        "' in " +
        CODE_ROOT,
    )
    e.name = 'ImportModuleError'
    throw e
  }
  let mod
  if (file.endsWith('.mjs')) {
    mod = await import(pathToFileURL(file).href)
  } else {
    try {
      mod = require(file)
    } catch (err) {
      if (err && err.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(file).href)
      else throw err
    }
  }
  const fn = mod && (mod[exportName] || (mod.default && mod.default[exportName]))
  if (typeof fn !== 'function') {
    const e = new Error(
      'The ' +
        what +
        " '" +
        handlerSpec +
        "' is not a function exported by " +
        path.relative(CODE_ROOT, file),
    )
    e.name = 'HandlerNotFound'
    throw e
  }
  return fn
}

function callStyled(fn, args) {
  // A function declared with a trailing callback parameter answers through it; otherwise through
  // its return value (a promise or a plain value).
  return new Promise((resolve, reject) => {
    let settled = false
    const callback = (err, data) => {
      if (settled) return
      settled = true
      if (err !== null && err !== undefined) reject(err)
      else resolve(data)
    }
    try {
      const ret = fn(...args, callback)
      if (fn.length <= args.length || (ret && typeof ret.then === 'function')) {
        Promise.resolve(ret).then(
          (v) => {
            if (fn.length > args.length && v === undefined) return // waits for the callback
            callback(null, v)
          },
          (e) => callback(e === undefined || e === null ? new Error(String(e)) : e),
        )
      }
    } catch (err) {
      callback(err === undefined || err === null ? new Error(String(err)) : err)
    }
  })
}

// ---- serving -------------------------------------------------------------------------------
let handler
let current // the invocation in progress, for crash reports

// Reading RSS costs a /proc read; under load one reading per 20 ms is exact enough.
let rssMb = 0
let rssAt = 0
function memoryUsedMb() {
  const now = Date.now()
  if (now - rssAt > 20) {
    try {
      rssMb = process.memoryUsage.rss() / 1048576
    } catch {
      // out of file descriptors (it reads /proc): keep the last reading
    }
    rssAt = now
  }
  return rssMb
}

function serialise(result) {
  if (typeof result === 'string') return { text: true, body: Buffer.from(result, 'utf8') }
  if (Buffer.isBuffer(result)) return { text: true, body: result }
  if (result === undefined) return { text: false, body: Buffer.from('null') }
  return { text: false, body: Buffer.from(JSON.stringify(result), 'utf8') }
}

async function invoke(header, payload) {
  io.resetInvocationLog()
  current = header
  let event
  try {
    event = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'))
  } catch (err) {
    current = undefined
    send({ t: 'result', id: header.id, badEvent: true, message: err.message, out: io.outBytes() })
    return
  }
  const context = makeContext(header)
  let reply
  try {
    const result = await callStyled(handler, [event, context])
    let s
    try {
      s = serialise(result)
    } catch (err) {
      throw Object.assign(
        new Error('The function result cannot be serialised to JSON: ' + err.message),
        { name: 'ResultSerializationError' },
      )
    }
    if (s.body.length > MAX_RESULT_BYTES) {
      throw Object.assign(
        new Error(
          'The function result is ' +
            s.body.length +
            ' bytes; the limit is ' +
            MAX_RESULT_BYTES +
            '.',
        ),
        { name: 'ResponseTooLarge' },
      )
    }
    reply = { header: { t: 'result', id: header.id, ok: true, text: s.text }, body: s.body }
  } catch (err) {
    const e = toErrorJson(err)
    reply = {
      header: { t: 'result', id: header.id, ok: false, errorType: e.errorType },
      body: Buffer.from(JSON.stringify(e)),
    }
    // Out of descriptors, the instance cannot serve anyone well again: tell the host.
    if (err && (err.code === 'EMFILE' || err.code === 'ENFILE')) reply.header.fdsExhausted = true
  }
  current = undefined
  reply.header.mem = memoryUsedMb()
  reply.header.out = io.outBytes()
  send(reply.header, reply.body)
}

// Errors that escape every handler leave the process in an unknown state: report them against the
// invocation in progress, then exit so the host replaces this instance.
function fatal(err) {
  const e = toErrorJson(err, 'UncaughtException')
  writeOut(
    new Date().toISOString() +
      ' ' +
      ((current && current.requestId) || '-') +
      ' ERROR ' +
      e.errorType +
      ': ' +
      e.errorMessage +
      '\n',
  )
  if (current) {
    sendSync(
      {
        t: 'result',
        id: current.id,
        ok: false,
        errorType: e.errorType,
        mem: memoryUsedMb(),
        out: io.outBytes(),
        // This process exits next: the host stops the instance rather than send it another call.
        exiting: true,
      },
      Buffer.from(JSON.stringify(e)),
    )
    current = undefined
  }
  process.exit(70)
}
process.on('uncaughtException', fatal)
process.on('unhandledRejection', fatal)
process.on('exit', (code) => {
  if (current) sendSync({ t: 'exit', id: current.id, code, out: io.outBytes() })
})

// The function's environment arrives in one frame; variables set here reach the handler through
// process.env and every process it spawns.
async function specialise(header) {
  for (const [k, v] of Object.entries(header.env || {})) env[k] = v
  CODE_ROOT = env.RUNTIME_CODE_ROOT || ''
  defaultThreshold = thresholdOf(env.RUNTIME_LOG_LEVEL || 'INFO') ?? LEVELS.INFO
  try {
    userData = JSON.parse(env.RUNTIME_USERDATA || '{}')
  } catch {
    userData = {}
  }
  try {
    process.chdir(CODE_ROOT)
  } catch {
    // a missing code root is reported by the module load below
  }
  // NODE_PATH is read once at boot; dependency packages arrive later.
  if (env.NODE_PATH) require('node:module')._initPaths()
  await load()
}

async function load() {
  try {
    handler = await loadExport(env.RUNTIME_HANDLER || '', 'handler')
    if (env.RUNTIME_INITIALIZER_HANDLER) {
      const initializer = await loadExport(env.RUNTIME_INITIALIZER_HANDLER, 'initializer')
      send({ t: 'initializing', out: io.outBytes() })
      await callStyled(initializer, [makeContext({ requestId: '', headers: {} })])
    }
  } catch (err) {
    const e = toErrorJson(err)
    send(
      { t: 'init-error', errorType: e.errorType, mem: memoryUsedMb(), out: io.outBytes() },
      Buffer.from(JSON.stringify(e)),
    )
    return
  }
  send({ t: 'ready', out: io.outBytes() })
}

// A stem cell: booted, no function yet.
send({ t: 'cell', out: io.outBytes() })
