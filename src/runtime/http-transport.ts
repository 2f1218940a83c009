/**
 * @module Invocations as HTTP requests to an HTTP function's own server (port 8000 in the instance's
 * network namespace, ADR 0007), through an undici `Pool` whose connections the `NetnsDialer` makes
 * inside the namespace. Parsed here and by the server, nothing in between.
 */
import { Pool } from 'undici'
import {
  HOP_BY_HOP_HEADERS,
  Limits,
  StratoError,
  readProcessStartTime,
  type HttpRequestMeta,
} from '../core/index.js'
import { FunctionFailure, type InvokeInput } from './guest-outcome.js'
import type { GuestTransport, TransportHost, TransportKind } from './guest-transport.js'
import type { InstanceNetwork } from './netns-dialer.js'

const SYNC_RESULT_MAX_BYTES = Limits.SYNC_PAYLOAD_MAX_BYTES

export class HttpTransport implements GuestTransport {
  readonly kind: TransportKind = 'http'
  readonly #host: TransportHost
  readonly #network: InstanceNetwork
  readonly #pid: number | undefined
  readonly #capacity: number
  /** Kept-alive connections straight to the server on port 8000; made by `open`. */
  #pool: Pool | undefined
  #opened = false

  constructor(
    host: TransportHost,
    network: InstanceNetwork,
    pid: number | undefined,
    capacity: number,
  ) {
    this.#host = host
    this.#network = network
    this.#pid = pid
    this.#capacity = capacity
  }

  /** The server listens (the guest said `ready`): hold its namespace and dial into it on demand. */
  async open(): Promise<void> {
    const pid = this.#pid
    const id = this.#host.instanceId
    if (pid === undefined) {
      throw new StratoError('INSTANCE_START_FAILED', `Instance ${id} has no process.`)
    }
    const network = this.#network
    this.#opened = true
    await network.open(id, pid, readProcessStartTime(pid))
    this.#pool = new Pool('http://127.0.0.1:8000', {
      connections: this.#capacity,
      pipelining: 1,
      // The invocation's own deadline governs (timeouts go up to FunctionGraph's maximum).
      headersTimeout: 0,
      bodyTimeout: 0,
      // The pool asks for a connection when it has none free; the dialer makes it in the namespace.
      connect: (_options, callback) => {
        network.dial(id).then(
          (socket) => callback(null, socket),
          (err: Error) => callback(err, null),
        )
      },
    })
  }

  refuses(input: InvokeInput): string | undefined {
    return input.http !== undefined && this.#pool === undefined
      ? `Instance ${this.#host.instanceId} is not an HTTP function's instance.`
      : undefined
  }

  /**
   * Sends the request; deadlines and deaths are judged by the instance, as for frames. An
   * invocation without an HTTP request (an asynchronous one) has no way to the server: it runs
   * into its deadline, as an `invoke` frame to this guest always did.
   */
  send(id: number, input: InvokeInput): void {
    const pool = this.#pool
    if (input.http !== undefined && pool !== undefined) {
      this.#forward(id, input, input.http, pool)
    }
  }

  #forward(id: number, input: InvokeInput, request: HttpRequestMeta, pool: Pool): void {
    // Flat name/value pairs keep repeated headers; Strato's x-cff-* replace any the caller sent,
    // and undici sets content-length from the body.
    const headers: string[] = []
    for (const [k, v] of Object.entries(request.headers)) {
      const lower = k.toLowerCase()
      if (!HOP_BY_HOP_HEADERS.has(lower) && !Object.hasOwn(input.headers, lower)) {
        if (typeof v === 'string') {
          headers.push(k, v)
        } else {
          for (const one of v) {
            headers.push(k, one)
          }
        }
      }
    }
    for (const [k, v] of Object.entries(input.headers)) {
      headers.push(k, v)
    }
    const parts: Buffer[] = []
    let size = 0
    let statusCode = 502
    let raw: Buffer[] = []
    let abort: ((err?: Error) => void) | undefined
    pool.dispatch(
      {
        method: request.method,
        path: request.query === '' ? request.path : `${request.path}?${request.query}`,
        headers,
        body: input.payload,
      },
      {
        onConnect: (a: (err?: Error) => void) => {
          abort = a
        },
        onHeaders: (status: number, rawHeaders: Buffer[]) => {
          statusCode = status
          raw = rawHeaders
          return true
        },
        onData: (chunk: Buffer) => {
          size += chunk.length
          if (size > SYNC_RESULT_MAX_BYTES) {
            // Judged first: aborting reports an error of its own, which then finds nothing.
            this.#failed(
              id,
              'ResponseTooLarge',
              `The function's HTTP response body is over ${SYNC_RESULT_MAX_BYTES} bytes.`,
            )
            abort?.()
            return false
          }
          parts.push(chunk)
          return true
        },
        onComplete: () => {
          this.#answered(
            id,
            statusCode,
            wrappedHeadersOf(raw),
            parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts, size),
          )
        },
        onError: (err: Error) =>
          this.#failed(
            id,
            'FunctionServerError',
            raw.length === 0
              ? `The function's server did not answer on port 8000: ${err.message}.`
              : `The function's server broke off its response: ${err.message}.`,
          ),
      },
    )
  }

  #answered(id: number, statusCode: number, headers: Record<string, string[]>, body: Buffer): void {
    // The server's output reaches fd 1 through the guest, not in step with the response: the log
    // gets what has arrived by now.
    const inflight = this.#host.finish(id, undefined, true)
    if (inflight === undefined) {
      return // it timed out, or the instance died, first
    }
    inflight.resolve({
      ok: true,
      body,
      text: false,
      errorType: undefined,
      memoryUsedMb: this.#host.recentMemoryUsedMb(),
      log: inflight.log,
      http: { statusCode, headers },
    })
  }

  #failed(id: number, errorType: string, message: string): void {
    if (this.#host.ending()) {
      return // the instance died under the request: the instance judges why
    }
    const inflight = this.#host.finish(id, undefined, false)
    if (inflight === undefined) {
      return
    }
    inflight.resolve(
      this.#host.failureOutcome(new FunctionFailure(errorType, message, inflight.log)),
    )
  }

  onGuestFrame(): void {
    // Answers come over HTTP; this guest sends no invocation frames.
  }

  close(): void {
    if (!this.#opened) {
      return
    }
    this.#opened = false
    void this.#pool?.destroy().catch(() => undefined)
    this.#network.close(this.#host.instanceId)
  }
}

/**
 * The server's response headers for the wrapped response: each name as the server first spelt it,
 * with the values of every spelling in order (`Content-type` stays `Content-type`; `X-A` and
 * `x-a` become one). Framing and hop-by-hop headers stay behind, and so do the ones the server's
 * `Connection` names (RFC 9110 §7.6.1); `Content-Length` is kept, as FunctionGraph shows it.
 */
export function wrappedHeadersOf(raw: readonly Buffer[]): Record<string, string[]> {
  // No prototype: a server may send a header named `__proto__`.
  const out = Object.create(null) as Record<string, string[]>
  const spelling = new Map<string, string>()
  let connectionListed: string[] | undefined
  // One pass; what `Connection` names (rarely anything) is removed at the end.
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    const value = (raw[i + 1] as Buffer).toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      for (const listed of value.split(',')) {
        ;(connectionListed ??= []).push(listed.trim().toLowerCase())
      }
    }
    if (lower !== 'content-length' && HOP_BY_HOP_HEADERS.has(lower)) {
      continue
    }
    let key = spelling.get(lower)
    if (key === undefined) {
      key = name
      spelling.set(lower, key)
    }
    ;(out[key] ??= []).push(value)
  }
  for (const lower of connectionListed ?? []) {
    const key = spelling.get(lower)
    if (key !== undefined && lower !== 'content-length') {
      delete out[key]
    }
  }
  return out
}
