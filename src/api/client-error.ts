/**
 * @module answerClientError: the answer to Node's own HTTP errors, which arrive before a request
 * exists (slow bodies, malformed requests, oversized heads), in FunctionGraph's error format.
 */
import http from 'node:http'
import type { Duplex } from 'node:stream'
import { StratoError, errorResponse, type ErrorCode } from '../core/index.js'
import { toStratoError } from './error-handler.js'

/** Node's client errors carry the parser's code and the bytes it was reading. */
interface ClientError extends Error {
  readonly code?: string
  readonly rawPacket?: unknown
}

// A request line such as `GET /path?query HTTP/1.1`, at the start of what the parser was reading.
const REQUEST_LINE_START = /^[A-Z]+ \S/

/**
 * An over-long head (Node's `maxHeaderSize`, 16 KiB by default) is a URI too long when its request
 * line alone takes more than half of the limit, and otherwise headers too large.
 */
function headOverflowCode(err: ClientError): ErrorCode {
  const packet = err.rawPacket
  if (
    !Buffer.isBuffer(packet) ||
    !REQUEST_LINE_START.test(packet.subarray(0, 32).toString('latin1'))
  ) {
    return 'HEADERS_TOO_LARGE'
  }
  const lineEnd = packet.indexOf('\r\n')
  const lineBytes = lineEnd === -1 ? packet.length : lineEnd
  return lineBytes > http.maxHeaderSize / 2 ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE'
}

function stratoErrorOf(err: ClientError): StratoError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const code = headOverflowCode(err)
    return new StratoError(
      code,
      code === 'URI_TOO_LONG'
        ? `The request URI (path and query) is too long: the request line and headers together may take at most ${http.maxHeaderSize} bytes.`
        : `The request headers are too large: the request line and headers together may take at most ${http.maxHeaderSize} bytes.`,
      { cause: err },
    )
  }
  return toStratoError(
    Object.assign(err, { statusCode: err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400 }),
  )
}

/**
 * Writes the FSS error answer for a Node client error on the socket, then closes it. No request
 * exists, so no `X-Request-Id`; the socket closes after the answer, hence `Connection: close`.
 */
export function answerClientError(err: ClientError, socket: Duplex): void {
  const { status, body, headers } = errorResponse(stratoErrorOf(err))
  const json = JSON.stringify(body)
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${headers['content-type']}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  )
  // Closing with the rest of an oversized head unread would reset the connection and could lose
  // the answer: read and drop what still comes for a moment, then close.
  socket.on('data', () => undefined)
  setTimeout(() => socket.destroy(), 1000).unref()
}
