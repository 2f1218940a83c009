/**
 * @module The control socket a guest sees as fd 3: host frames out, batched once per event-loop
 * turn; guest frames in, each held until fd 1 has delivered the output it follows. Every family's
 * guest speaks it for its life cycle (`cell`, `specialise`, `ready`, …); event functions also get
 * their invocations over it (`FrameTransport`).
 */
import type { Socket } from 'node:net'
import { FrameDecoder, encodeFrameHead, type GuestFrame, type HostFrame } from './protocol.js'
import type { OutputLedger } from './output-ledger.js'

export interface ReceivedFrame {
  readonly header: GuestFrame
  readonly payload: Buffer
}

export class ControlChannel {
  readonly #socket: Socket
  readonly #ledger: OutputLedger
  readonly #onFrame: (header: GuestFrame, payload: Buffer) => void
  readonly #decoder = new FrameDecoder()
  /** Frames waiting for this turn's flush (`send`). */
  #outbox: Buffer[] = []
  #flushScheduled = false
  /** Guest frames wait here until the output they follow has arrived. */
  #queue: ReceivedFrame[] = []

  /**
   * @param ledger the instance's fd 1 ledger: a frame is handled once it has received `out` bytes
   * @param onProtocolError a malformed or oversized frame: the guest is broken or hostile
   */
  constructor(
    socket: Socket,
    ledger: OutputLedger,
    onFrame: (header: GuestFrame, payload: Buffer) => void,
    onProtocolError: (message: string) => void,
  ) {
    this.#socket = socket
    this.#ledger = ledger
    this.#onFrame = onFrame
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.#decoder.push(chunk)) {
          this.#queue.push(frame)
        }
      } catch (err) {
        onProtocolError((err as Error).message)
        return
      }
      this.drain()
    })
    socket.on('error', () => undefined)
  }

  /**
   * Frames go out once per turn of the event loop, after its I/O: the invocations that requests
   * arriving together start reach the guest in one writev and one wake-up. On this kind of VM a
   * write to another process's socket costs tens of µs, more than the rest of an invocation.
   */
  send(frame: HostFrame, payload?: Buffer): void {
    this.#outbox.push(encodeFrameHead(frame, payload?.length ?? 0))
    if (payload !== undefined && payload.length > 0) {
      this.#outbox.push(payload)
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flush)
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false
    const out = this.#outbox
    this.#outbox = []
    const socket = this.#socket
    if (socket.destroyed) {
      return
    }
    socket.cork()
    for (const b of out) {
      socket.write(b)
    }
    socket.uncork()
  }

  /** Handles the queued frames whose output has all arrived, in order. */
  drain(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0]
      if (next === undefined || next.header.out > this.#ledger.received) {
        return // its output is still in the pipe
      }
      this.#queue.shift()
      this.#onFrame(next.header, next.payload)
    }
  }

  /** Frames received but waiting for their output. */
  get undelivered(): number {
    return this.#queue.length
  }

  destroy(): void {
    this.#socket.destroy()
  }
}
