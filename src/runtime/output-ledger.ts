/**
 * @module The ledger of an instance's fd 1 output: which bytes belong to which invocation. Every
 * guest frame carries `out`, the guest's running fd 1 byte count when it was sent; the bytes since
 * the last attribution point up to `out` are the log of what that frame ends. Pure bookkeeping: the
 * instance feeds it chunks and asks for logs.
 */

/**
 * Host-side cap on buffered, not yet attributed output. The guest caps each invocation's log
 * itself (`STRATO_MAX_LOG_BYTES`); this bounds what an untrusted guest can make the host hold.
 */
export const HOST_OUTPUT_CAP_BYTES = 2 * 1024 * 1024

interface OutSegment {
  /** Absolute fd 1 offset of `data[0]`. */
  readonly start: number
  readonly data: Buffer
}

export class OutputLedger {
  readonly #capBytes: number
  /** Bytes of fd 1 received so far. */
  #received = 0
  /** Up to which byte output has been handed to some log (or dropped). */
  #consumed = 0
  /** Bytes held in `#segments`. */
  #buffered = 0
  #segments: OutSegment[] = []
  /** Output of start-up (module load, initializer), prepended to the first invocation's log. */
  #startLog = ''

  constructor(capBytes = HOST_OUTPUT_CAP_BYTES) {
    this.#capBytes = capBytes
  }

  /** Bytes of fd 1 received so far: a guest frame is handled only once this reaches its `out`. */
  get received(): number {
    return this.#received
  }

  /** Records a chunk of fd 1; past the cap it is counted but not kept (the log says so). */
  receive(chunk: Buffer): void {
    const start = this.#received
    this.#received += chunk.length
    if (this.#buffered + chunk.length <= this.#capBytes) {
      this.#segments.push({ start, data: chunk })
      this.#buffered += chunk.length
    }
  }

  /** The output from the last attribution point up to absolute byte `end`. */
  take(end: number): string {
    const parts: Buffer[] = []
    let kept = 0
    const rest: OutSegment[] = []
    for (const seg of this.#segments) {
      const segEnd = seg.start + seg.data.length
      if (segEnd <= end) {
        parts.push(seg.data)
        kept += seg.data.length
      } else if (seg.start < end) {
        const cut = end - seg.start
        parts.push(seg.data.subarray(0, cut))
        kept += cut
        rest.push({ start: end, data: seg.data.subarray(cut) })
      } else {
        rest.push(seg)
      }
    }
    this.#segments = rest
    this.#buffered = rest.reduce((n, s) => n + s.data.length, 0)
    const dropped = Math.max(0, end - this.#consumed - kept)
    this.#consumed = Math.max(this.#consumed, end)
    const text = Buffer.concat(parts).toString('utf8')
    return dropped > 0 ? `${text}\n[strato: ${dropped} bytes of output dropped]\n` : text
  }

  /** Everything received and not yet attributed. */
  takeAll(): string {
    return this.take(this.#received)
  }

  /** Start-up ended (`ready`) at byte `end`: its output waits for the first invocation's log. */
  keepStartLog(end: number): void {
    this.#startLog = this.take(end)
  }

  /**
   * An ending invocation's log: the start-up output if no invocation has had it yet, then the
   * output up to byte `end` (everything received when undefined).
   */
  takeInvocationLog(end: number | undefined): string {
    const log = this.take(end ?? this.#received)
    if (this.#startLog === '') {
      return log
    }
    const all = this.#startLog + log
    this.#startLog = ''
    return all
  }
}
