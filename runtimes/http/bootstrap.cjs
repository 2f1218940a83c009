'use strict'
// Strato's guest for HTTP functions: starts the function's own web server (its `bootstrap`), waits
// until it listens on 127.0.0.1:8000, and says `ready`. It speaks the same frames on fd 3 as the
// other guests (src/runtime/protocol.ts) for its life cycle; requests never pass through it: Strato
// connects to the server itself, from inside the instance's network namespace (its NetnsDialer).
// Each instance has its own network namespace, so every instance can listen on port 8000.

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')

const env = process.env
const PORT = 8000

// ---- output and control socket (shared with the Node.js guest) ------------------------------
// The server's stdout and stderr become the invocation logs.
let outputTail = ''
const io = createGuestIo({
  // Requests never pass through this guest, so it cannot tell one invocation's output from the
  // next: a cap here would count the instance's whole life. The host caps what it holds per
  // invocation (its output ledger, HOST_OUTPUT_CAP_BYTES) and says how much it dropped.
  maxLogBytes: Number.POSITIVE_INFINITY,
  onFrame(header) {
    // Requests go straight to the server, not through frames.
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
  send({ t: 'ready', out: io.outBytes() })
}

process.on('uncaughtException', (err) => {
  writeOut(
    Buffer.from('[strato] guest error: ' + (err && err.stack ? err.stack : String(err)) + '\n'),
  )
  process.exit(70)
})

// A stem cell: booted, no function yet.
send({ t: 'cell', out: io.outBytes() })
