/**
 * @module Invocations as frames on the guest's control socket (fd 3): event functions (Node.js,
 * Python). One `invoke` frame out with the event bytes; one `result` frame back with the result or
 * error JSON, after fd 1 has delivered the output it follows (ADR 0002, runtimes/README.md).
 */
import { Limits, StratoError } from '../core/index.js'
import type { ControlChannel } from './control-channel.js'
import { spentInstanceVerdict } from './death-classifier.js'
import { FunctionFailure, type InvokeInput } from './guest-outcome.js'
import type {
  GuestTransport,
  InvocationFrame,
  TransportHost,
  TransportKind,
} from './guest-transport.js'
import type { InvokeFrame } from './protocol.js'

const SYNC_RESULT_MAX_BYTES = Limits.SYNC_PAYLOAD_MAX_BYTES

export class FrameTransport implements GuestTransport {
  readonly kind: TransportKind = 'frames'
  readonly #host: TransportHost
  readonly #channel: ControlChannel

  constructor(host: TransportHost, channel: ControlChannel) {
    this.#host = host
    this.#channel = channel
  }

  open(): Promise<void> {
    return Promise.resolve()
  }

  refuses(input: InvokeInput): string | undefined {
    return input.http === undefined
      ? undefined
      : `Instance ${this.#host.instanceId} is not an HTTP function's instance.`
  }

  send(id: number, input: InvokeInput): void {
    const frame: InvokeFrame = {
      t: 'invoke',
      id,
      requestId: input.requestId,
      deadline: Date.now() + input.timeoutMs,
      invokeType: input.invokeType,
      alias: input.alias,
      headers: input.headers,
    }
    this.#channel.send(frame, input.payload)
  }

  onGuestFrame(header: InvocationFrame, payload: Buffer): void {
    if (header.t === 'exit') {
      this.#host.noteGuestExit(header.id, header.code)
      return
    }
    // With several invocations in flight their output interleaves: each result takes what
    // arrived before it.
    const inflight = this.#host.finish(header.id, header.out, true)
    if (inflight === undefined) {
      return // the invocation already ended (timeout); its late result is dropped
    }
    const log = inflight.log
    if (header.badEvent === true) {
      inflight.reject(
        new StratoError(
          'INVALID_EVENT',
          `The invocation body is not valid JSON: ${header.message ?? 'parse error'}.`,
        ),
      )
      return
    }
    if (header.ok === true && payload.length > SYNC_RESULT_MAX_BYTES) {
      // The guest checks this too, but the guest runs untrusted code.
      inflight.resolve(
        this.#host.failureOutcome(
          new FunctionFailure(
            'ResponseTooLarge',
            `The function result is ${payload.length} bytes; the limit is ${SYNC_RESULT_MAX_BYTES}.`,
            log,
          ),
        ),
      )
      return
    }
    if (header.ok !== true) {
      const spent = spentInstanceVerdict(
        this.#host.evidence(),
        header.fdsExhausted === true,
        payload,
      )
      if (spent !== undefined) {
        void this.#host.stop()
        inflight.resolve(
          this.#host.failureOutcome(new FunctionFailure(spent.errorType, spent.message, log)),
        )
        return
      }
    }
    if (header.exiting === true) {
      void this.#host.stop()
    }
    inflight.resolve({
      ok: header.ok === true,
      body: payload,
      text: header.text === true,
      errorType: header.errorType,
      memoryUsedMb: typeof header.mem === 'number' ? header.mem : 0,
      log,
    })
  }

  close(): void {
    // The control socket is the instance's: it closes it.
  }
}
