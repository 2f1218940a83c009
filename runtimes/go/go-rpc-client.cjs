'use strict'
// A Go net/rpc client over HTTP, as `rpc.DialHTTP` is: `CONNECT /_goRPC_`, then a gob stream of
// (rpc.Request, args) one way and (rpc.Response, reply) the other. Calls are matched to replies
// by sequence number, so one connection carries any number of concurrent calls.

const net = require('node:net')
const { GobDecoder, GobEncoder, types } = require('./gob.cjs')

const RPC_PATH = '/_goRPC_'
const CONNECTED = 'HTTP/1.0 200 Connected to Go RPC'

// net/rpc's rpc.Request and rpc.Response (their unexported `next` field is never sent).
const REQUEST = types.struct('Request', [
  ['ServiceMethod', types.string],
  ['Seq', types.uint],
])

class RpcError extends Error {
  /** The error string the server's method returned (`rpc.ServerError`). */
  constructor(message) {
    super(message)
    this.name = 'RpcError'
  }
}

/**
 * Connects to a Go net/rpc HTTP server at `host:port`. Resolves once the server accepted the
 * CONNECT; rejects when it cannot be reached or answers something else.
 */
function dialHttp(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host)
    socket.setNoDelay(true)
    let head = Buffer.alloc(0)
    const onError = (err) => reject(err)
    socket.once('error', onError)
    socket.once('connect', () => socket.write('CONNECT ' + RPC_PATH + ' HTTP/1.0\n\n'))
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\n\n')
      if (end < 0) {
        if (head.length > 4096) fail('an oversized HTTP answer to CONNECT')
        return
      }
      socket.off('data', onData)
      const status = head.toString('latin1', 0, end).split('\n')[0]
      if (status !== CONNECTED) {
        fail('"' + status.slice(0, 200) + '" to CONNECT ' + RPC_PATH)
        return
      }
      socket.off('error', onError)
      const client = new RpcClient(socket)
      const rest = head.subarray(end + 2)
      if (rest.length > 0) client.feed(rest)
      resolve(client)
    }
    const fail = (what) => {
      socket.destroy()
      reject(new Error('not a Go net/rpc HTTP server: it answered ' + what))
    }
    socket.on('data', onData)
  })
}

class RpcClient {
  constructor(socket) {
    this.socket = socket
    this.encoder = new GobEncoder()
    this.decoder = new GobDecoder()
    this.seq = 0
    this.pending = new Map() // seq -> { resolve, reject }
    this.header = undefined // the rpc.Response whose body comes next
    this.closedWith = undefined
    this.onClose = undefined
    socket.on('data', (chunk) => this.feed(chunk))
    socket.on('error', (err) => this.#close(err))
    socket.on('close', () => this.#close(new Error('the connection to the function closed')))
  }

  feed(chunk) {
    let values
    try {
      values = this.decoder.push(chunk)
    } catch (err) {
      this.socket.destroy()
      this.#close(new Error('unreadable net/rpc answer: ' + err.message))
      return
    }
    for (const { value } of values) {
      if (this.header === undefined) {
        this.header = value
        continue
      }
      const header = this.header
      this.header = undefined
      const call = this.pending.get(header.Seq ?? 0)
      if (call === undefined) continue
      this.pending.delete(header.Seq ?? 0)
      if (header.Error) call.reject(new RpcError(header.Error))
      else call.resolve(value)
    }
  }

  /**
   * Calls `serviceMethod` with `args` encoded as `argsType`; resolves with the decoded reply,
   * rejects with an RpcError (the method's error) or an Error (the connection failed).
   */
  call(serviceMethod, argsType, args) {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith)
    const seq = this.seq++
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject })
      const request = this.encoder.encode(REQUEST, { ServiceMethod: serviceMethod, Seq: seq })
      const body = this.encoder.encode(argsType, args)
      this.socket.cork()
      this.socket.write(request)
      this.socket.write(body)
      this.socket.uncork()
    })
  }

  close() {
    this.socket.destroy()
  }

  #close(err) {
    if (this.closedWith !== undefined) return
    this.closedWith = err
    for (const call of this.pending.values()) call.reject(err)
    this.pending.clear()
    if (this.onClose) this.onClose(err)
  }
}

module.exports = { dialHttp, RpcClient, RpcError }
