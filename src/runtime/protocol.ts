/**
 * @module The control protocol between the host and a guest runtime (runtimes/<lang>/bootstrap.*),
 * spoken over the socket the guest sees as fd 3.
 *
 * A frame is `u32 header length | u32 payload length | header JSON | payload bytes` (big endian).
 * The payload carries the event or the result as raw bytes, so neither side re-encodes them.
 * Every guest frame carries `out`: the guest's cumulative byte count on fd 1 when it was sent.
 */

/** Host → guest. */
export interface InvokeFrame {
  readonly t: 'invoke'
  readonly id: number
  readonly requestId: string
  /** Epoch ms by which the invocation must end (for getRemainingTimeInMilliSeconds). */
  readonly deadline: number
  readonly invokeType: 'sync' | 'async'
  readonly alias: string
  readonly headers: Readonly<Record<string, string>>
}

/** Host → guest: turns a booted stem cell into an instance of one function. */
export interface SpecialiseFrame {
  readonly t: 'specialise'
  /** The function's whole environment (its variables, RUNTIME_*, module paths). */
  readonly env: Readonly<Record<string, string>>
}

export type HostFrame = InvokeFrame | SpecialiseFrame

/**
 * Guest → host.
 * * `cell`         - the interpreter booted; waiting for `specialise`
 * * `initializing` - the handler module loaded; the initializer runs now (its own timeout applies)
 * * `ready`        - loaded and initialised; invocations may be sent
 * * `init-error`   - loading or the initializer failed; payload is the error JSON
 * * `result`       - an invocation ended; payload is the result or the error JSON
 * * `exit`         - the function called process.exit during invocation `id`
 */
export type GuestFrame =
  | { readonly t: 'cell'; readonly out: number }
  | { readonly t: 'initializing'; readonly out: number }
  | { readonly t: 'ready'; readonly out: number }
  | {
      readonly t: 'init-error'
      readonly errorType: string
      readonly out: number
      /** The guest's memory use (MB); the host prefers the instance cgroup's peak. */
      readonly mem?: number
    }
  | {
      readonly t: 'result'
      readonly id: number
      readonly out: number
      readonly ok?: boolean
      readonly text?: boolean
      readonly errorType?: string
      readonly mem?: number
      readonly badEvent?: boolean
      readonly message?: string
      /** The function ran out of file descriptors: the instance is spent. */
      readonly fdsExhausted?: boolean
      /**
       * The guest ends its process after this result (a PHP fatal error): the instance takes no
       * other invocation, even one sent before its death is seen.
       */
      readonly exiting?: boolean
    }
  | { readonly t: 'exit'; readonly id: number; readonly code: number; readonly out: number }

const PREFIX_BYTES = 8
/** A guest is untrusted code: frames past these sizes are a protocol error, not an allocation. */
export const MAX_HEADER_BYTES = 64 * 1024
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 + 256 * 1024

/**
 * The prefix and header of a frame; the payload follows as its own write (corked together with
 * this one), so a 6 MB event is never copied into a new buffer.
 */
export function encodeFrameHead(header: HostFrame, payloadBytes: number): Buffer {
  const h = header.t === 'invoke' ? invokeFrameJson(header) : JSON.stringify(header)
  const hLen = Buffer.byteLength(h)
  const head = Buffer.allocUnsafe(PREFIX_BYTES + hLen)
  head.writeUInt32BE(hLen, 0)
  head.writeUInt32BE(payloadBytes, 4)
  head.write(h, PREFIX_BYTES, 'utf8')
  return head
}

// Printable ASCII without `"` and `\\`: a string of only these is its own JSON body.
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

function jsonString(value: string): string {
  return PLAIN_JSON_TEXT.test(value) ? `"${value}"` : JSON.stringify(value)
}

/**
 * `JSON.stringify(frame)`, built by hand: one is encoded per invocation, and the generic
 * stringifier (a nested object, dictionary-mode headers) was 4 % of the API process's CPU per warm
 * request. Same text, key for key (tested against JSON.stringify).
 */
export function invokeFrameJson(frame: InvokeFrame): string {
  let headers = ''
  for (const name in frame.headers) {
    const value = frame.headers[name]
    if (value !== undefined) {
      headers += `${headers === '' ? '' : ','}${jsonString(name)}:${jsonString(value)}`
    }
  }
  return `{"t":"invoke","id":${frame.id},"requestId":${jsonString(frame.requestId)},"deadline":${frame.deadline},"invokeType":${jsonString(frame.invokeType)},"alias":${jsonString(frame.alias)},"headers":{${headers}}}`
}

const GUEST_FRAME_TYPES: ReadonlySet<string> = new Set([
  'cell',
  'initializing',
  'ready',
  'init-error',
  'result',
  'exit',
])

/**
 * Reassembles frames from socket chunks. Chunks are joined only once a whole frame has arrived, so
 * a large frame costs one copy, not one per chunk. A malformed frame is a protocol error (throws).
 */
export class FrameDecoder {
  #chunks: Buffer[] = []
  #bytes = 0
  /** Bytes needed before another frame can be complete. */
  #need = PREFIX_BYTES

  /** Feeds a chunk; returns the complete frames it finished. */
  push(chunk: Buffer): Array<{ header: GuestFrame; payload: Buffer }> {
    this.#chunks.push(chunk)
    this.#bytes += chunk.length
    if (this.#bytes < this.#need) {
      return []
    }
    let buf = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#bytes)
    const frames: Array<{ header: GuestFrame; payload: Buffer }> = []
    this.#need = PREFIX_BYTES
    while (buf.length >= PREFIX_BYTES) {
      const hLen = buf.readUInt32BE(0)
      const pLen = buf.readUInt32BE(4)
      if (hLen > MAX_HEADER_BYTES || pLen > MAX_PAYLOAD_BYTES) {
        throw new Error(`guest frame too large (header ${hLen} bytes, payload ${pLen} bytes)`)
      }
      const end = PREFIX_BYTES + hLen + pLen
      if (buf.length < end) {
        this.#need = end
        break
      }
      const header = JSON.parse(
        buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + hLen),
      ) as GuestFrame
      if (
        header === null ||
        typeof header !== 'object' ||
        !GUEST_FRAME_TYPES.has(header.t) ||
        typeof header.out !== 'number'
      ) {
        throw new Error(`malformed guest frame: ${JSON.stringify(header).slice(0, 200)}`)
      }
      frames.push({ header, payload: buf.subarray(PREFIX_BYTES + hLen, end) })
      buf = buf.subarray(end)
    }
    this.#chunks = buf.length > 0 ? [buf] : []
    this.#bytes = buf.length
    return frames
  }
}
