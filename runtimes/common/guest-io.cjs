'use strict'
// What Strato's Node.js-based guests (runtimes/node, runtimes/http) share: the counted output on
// fd 1 and the length-prefixed frames on the control socket, fd 3 (src/runtime/protocol.ts).
// Every byte written to fd 1 goes through `writeOut`, so each frame can say how much output
// precedes it (`out`) and the host attributes logs exactly.

const fs = require('node:fs')
const net = require('node:net')

const EMPTY = Buffer.alloc(0)

/**
 * @param {{ maxLogBytes: number, onFrame: (header: object, payload: Buffer) => void }} options
 */
function createGuestIo({ maxLogBytes, onFrame }) {
  let outBytes = 0 // cumulative bytes written to fd 1
  let invocationLogBytes = 0
  let logCapped = false

  function writeOut(buf) {
    if (buf.length === 0) return
    if (invocationLogBytes + buf.length > maxLogBytes) {
      if (logCapped) return
      logCapped = true
      const room = Math.max(0, maxLogBytes - invocationLogBytes)
      buf = Buffer.concat([
        buf.subarray(0, room),
        Buffer.from('\n[log truncated: the limit is ' + maxLogBytes + ' bytes per invocation]\n'),
      ])
    }
    invocationLogBytes += buf.length
    let off = 0
    while (off < buf.length) {
      try {
        off += fs.writeSync(1, buf, off)
      } catch (err) {
        if (err.code !== 'EAGAIN') return
      }
    }
    outBytes += buf.length
  }

  const control = new net.Socket({ fd: 3, readable: true, writable: true })
  // Frames sent in one turn of the event loop leave together, as one writev after the I/O of that
  // turn: under load a batch of results costs the host one wake-up, not one per result.
  let outbox = []
  let flushScheduled = false
  function flush() {
    flushScheduled = false
    const out = outbox
    outbox = []
    control.cork()
    for (const b of out) control.write(b)
    control.uncork()
  }
  function frameParts(header, payload) {
    const h = Buffer.from(JSON.stringify(header), 'utf8')
    const p = payload || EMPTY
    const prefix = Buffer.allocUnsafe(8)
    prefix.writeUInt32BE(h.length, 0)
    prefix.writeUInt32BE(p.length, 4)
    return p.length > 0 ? [prefix, h, p] : [prefix, h]
  }
  function send(header, payload) {
    // The payload is queued as it is, never copied into a new buffer.
    for (const part of frameParts(header, payload)) outbox.push(part)
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flush)
    }
  }
  /** For the last words of a dying process, when the event loop will not run again. */
  function sendSync(header, payload) {
    // Frames still queued go first: their results were ready before this process died.
    for (const part of frameParts(header, payload)) outbox.push(part)
    flushSync()
  }
  function flushSync() {
    if (outbox.length === 0) return
    // Bytes of an earlier frame may still wait in the socket's own buffer: writing past them would
    // cut into that frame. The host then judges the death without these last words.
    if (control.writableLength > 0) return
    const all = Buffer.concat(outbox)
    outbox = []
    // fd 3 is non-blocking: a write may take part of the buffer, or none (EAGAIN) while the host
    // is behind. Keep at it for a while; the host reads its control socket all the time.
    const giveUpAt = Date.now() + 2000
    let off = 0
    while (off < all.length && Date.now() < giveUpAt) {
      try {
        off += fs.writeSync(3, all, off)
      } catch (err) {
        if (err.code !== 'EAGAIN') return // the host is gone; nothing left to tell
      }
    }
  }
  // A process that exits (process.exit in a handler, a fatal error) still sends what it queued.
  process.on('exit', flushSync)

  // Chunks are joined only once a whole frame has arrived: a 6 MB event costs one copy.
  let chunks = []
  let buffered = 0
  let need = 8
  control.on('data', (chunk) => {
    chunks.push(chunk)
    buffered += chunk.length
    if (buffered < need) return
    let buf = chunks.length === 1 ? chunk : Buffer.concat(chunks, buffered)
    need = 8
    while (buf.length >= 8) {
      const hLen = buf.readUInt32BE(0)
      const pLen = buf.readUInt32BE(4)
      const end = 8 + hLen + pLen
      if (buf.length < end) {
        need = end
        break
      }
      const header = JSON.parse(buf.toString('utf8', 8, 8 + hLen))
      const payload = buf.subarray(8 + hLen, end)
      buf = buf.subarray(end)
      onFrame(header, payload)
    }
    chunks = buf.length > 0 ? [buf] : []
    buffered = buf.length
  })
  // The host closing the socket means Strato stopped or dropped this instance: leave at once.
  control.on('end', () => process.exit(0))
  control.on('error', () => process.exit(0))

  return {
    writeOut,
    send,
    sendSync,
    /** Bytes written to fd 1 so far: every frame's `out`. */
    outBytes: () => outBytes,
    /** A new invocation starts: its own log budget. */
    resetInvocationLog() {
      invocationLogBytes = 0
      logCapped = false
    },
  }
}

module.exports = { createGuestIo }
