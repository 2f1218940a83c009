'use strict'
// Strato's guest for Custom Image functions. The instance's root file system is the function's
// container image; this guest runs on the host's Node.js, shown under /.strato (see
// src/runtime/image-root.ts). At specialisation it starts the image's entrypoint (Entrypoint +
// Cmd of the image config, which the code store wrote to /.strato/image.json), waits until it
// listens on 127.0.0.1:8000 and says `ready`. As for HTTP functions, requests never pass through
// it: Strato connects to the server inside the instance's network namespace.

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { createGuestIo } = require('../common/guest-io.cjs')

const PORT = 8000
const IMAGE_CONFIG = '/.strato/image.json'

// The server's stdout and stderr become the invocation logs.
let outputTail = ''
const io = createGuestIo({
  // Requests never pass through this guest, so it cannot tell one invocation's output from the
  // next: a cap here would count the instance's whole life. The host caps what it holds per
  // invocation (its output ledger, HOST_OUTPUT_CAP_BYTES) and says how much it dropped.
  maxLogBytes: Number.POSITIVE_INFINITY,
  onFrame(header) {
    if (header.t === 'specialise') void specialise(header)
  },
})
const { send } = io
function writeOut(buf) {
  outputTail = (outputTail + buf.toString('utf8')).slice(-2000)
  io.writeOut(buf)
}

function initError(errorType, message) {
  const body = Buffer.from(JSON.stringify({ errorMessage: message, errorType, stackTrace: [] }))
  send({ t: 'init-error', errorType, out: io.outBytes() }, body)
}

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

/**
 * The server's environment: the image's Env, then the platform's and the function's variables
 * (they win, as `docker run -e` does), except PATH, which names the image's own folders.
 */
function serverEnv(image, platform) {
  const env = {}
  for (const pair of image.env || []) {
    const eq = pair.indexOf('=')
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  const imagePath = env.PATH
  Object.assign(env, platform)
  env.PATH = imagePath || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  return env
}

async function specialise(header) {
  let image
  try {
    image = JSON.parse(fs.readFileSync(IMAGE_CONFIG, 'utf8'))
  } catch (err) {
    initError('RuntimeStartFailed', 'The image run config cannot be read: ' + err.message)
    return
  }
  const platform = { ...process.env, ...(header.env || {}) }
  // custom_image's command, args and working_dir, as the scheduler passed them.
  let overrides = {}
  try {
    overrides = JSON.parse(platform.STRATO_IMAGE_OVERRIDES || '{}')
  } catch {
    // none
  }
  delete platform.STRATO_IMAGE_OVERRIDES
  const entrypoint = overrides.command || image.entrypoint || []
  const cmd = overrides.args || (overrides.command ? [] : image.cmd || [])
  const argv = [...entrypoint, ...cmd]
  if (argv.length === 0) {
    initError(
      'RuntimeStartFailed',
      'The image names no Entrypoint or Cmd, and custom_image no command.',
    )
    return
  }
  const env = serverEnv(image, platform)
  const cwd = path.posix.resolve('/', overrides.workingDir || image.workingDir || '/')
  if (!fs.existsSync(cwd)) {
    initError('RuntimeStartFailed', `The image's WorkingDir '${cwd}' does not exist in the image.`)
    return
  }
  let listening = false
  let exited = false
  const server = spawn(argv[0], argv.slice(1), {
    cwd,
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
  server.once('error', (err) => {
    exited = true
    initError(
      'RuntimeStartFailed',
      `The image's entrypoint '${argv.join(' ')}' could not be started: ${err.message}`,
    )
  })
  server.once('exit', (code, signal) => {
    exited = true
    const how = signal ? 'was killed by ' + signal : 'exited with code ' + code
    if (!listening) {
      initError(
        'RuntimeStartFailed',
        `The image's entrypoint ${how} before its server listened on port 8000. Its output ends with: ` +
          outputTail.trim().slice(-1000),
      )
      return
    }
    // The server is gone while serving: this instance is spent; the host replaces it.
    writeOut(Buffer.from("[strato] the image's server " + how + '\n'))
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

// A stem cell: booted, no image yet.
send({ t: 'cell', out: io.outBytes() })
