'use strict'
// Strato's guest for HTTP functions: starts the function's own web server (its `bootstrap`), waits
// until it listens on 127.0.0.1:8000, then opens a relay socket (raw bytes, no HTTP parsing) that
// the host sends requests through, and says `ready`. It speaks the same frames on fd 3 as the
// other guests (src/runtime/protocol.ts) for its life cycle; requests never travel as frames.
// Each instance has its own network namespace, so every instance can listen on port 8000.

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')

const env = process.env
const PORT = 8000
const MAX_LOG_BYTES = Number(env.STRATO_MAX_LOG_BYTES || 1048576)

// ---- output and control socket (shared with the Node.js guest) ------------------------------
// The server's stdout and stderr become the invocation logs.
let outputTail = ''
const io = createGuestIo({
  maxLogBytes: MAX_LOG_BYTES,
  onFrame(header) {
    // Requests come through the relay socket, not as frames.
    if (header.t === 'specialise') void specialise(header)
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
  try {
    await startRelay()
  } catch (err) {
    initError('RuntimeStartFailed', 'The relay socket could not be opened: ' + err.message)
    return
  }
  send({ t: 'ready', out: io.outBytes() })
}

// ---- the relay: raw bytes between the host's socket and the server -------------------------
// The host speaks HTTP to the function's server itself, through this Unix socket in the instance's
// own run dir (the network namespace keeps port 8000 out of the host's reach). No HTTP is parsed
// here: each connection is piped to a connection of its own to 127.0.0.1:8000.
function startRelay() {
  const socketPath = path.join(env.STRATO_RUN_DIR || '/run/strato', 'http.sock')
  const relay = net.createServer((conn) => {
    const upstream = net.connect(PORT, '127.0.0.1')
    upstream.setNoDelay(true)
    conn.setNoDelay(true)
    conn.pipe(upstream)
    upstream.pipe(conn)
    const closeBoth = () => {
      conn.destroy()
      upstream.destroy()
    }
    conn.on('error', closeBoth)
    upstream.on('error', closeBoth)
    conn.on('close', () => upstream.destroy())
    upstream.on('close', () => conn.destroy())
  })
  return new Promise((resolve, reject) => {
    relay.once('error', reject)
    relay.listen(socketPath, () => resolve())
  })
}

process.on('uncaughtException', (err) => {
  writeOut(
    Buffer.from('[strato] relay error: ' + (err && err.stack ? err.stack : String(err)) + '\n'),
  )
  process.exit(70)
})

// A stem cell: booted, no function yet.
send({ t: 'cell', out: io.outBytes() })
