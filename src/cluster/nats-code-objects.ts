/**
 * @module Code packages stored once for the cluster (ADR 0028): a JetStream object store bucket
 * `<prefix>_code`, one object per package, named by its SHA-512 digest (hex).
 */
import { createHash } from 'node:crypto'
import {
  consumerOpts,
  headers,
  JsHeaders,
  nuid,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type ObjectStore,
} from 'nats'
import type { CodeObjects } from '../core/index.js'

/** One package in the bucket, as the code store's collector sees it. */
export interface StoredCodeObject {
  readonly digest: string
  /** When it was last stored (ms since the epoch): its upload, or a later `put` of it. */
  readonly storedAt: number
}

/**
 * The object store keeps an object's description in one message per name on
 * `$O.<bucket>.M.<base64url(name)>` (NATS ADR-20); this class rewrites that message itself, with
 * the expected-last-sequence header, to refresh a package's time and to delete it only if nothing
 * stored it since the collector looked (the library's `update` and `delete` cannot be fenced).
 */
interface RawObjectInfo {
  name: string
  bucket?: string
  description?: string
  options?: { max_chunk_size?: number; link?: unknown }
  nuid: string
  mtime: string
  deleted?: boolean
  size: number
  chunks: number
  digest: string
  [field: string]: unknown
}

/**
 * Chunks of 512 KiB (the library's default is 128 KiB): fewer messages, same speed on this
 * machine; never more than the server's max payload.
 */
const CHUNK_BYTES = 512 * 1024
/** A fetch that hears no chunk for this long gives up (its chunks were purged meanwhile). */
const CHUNK_IDLE_MS = 10_000
/** The JetStream API error for a failed expected-last-sequence check. */
const WRONG_LAST_SEQUENCE = 10071
const MAX_ATTEMPTS = 5

export class NatsCodeObjects implements CodeObjects {
  readonly bucket: string
  readonly #nc: NatsConnection
  readonly #js: JetStreamClient
  #bound: Promise<{ os: ObjectStore; jsm: JetStreamManager }> | undefined

  /** Binds the bucket (creating it) on first use; `open` binds it at once. */
  constructor(nc: NatsConnection, prefix: string) {
    // Bucket names allow letters, digits, '-' and '_' (the prefix is checked by the settings);
    // object names are any string (the meta subject carries them base64url-encoded).
    this.bucket = `${prefix}_code`
    this.#nc = nc
    this.#js = nc.jetstream()
  }

  /** Creates the bucket `<prefix>_code` or binds the existing one. */
  static async open(nc: NatsConnection, prefix: string): Promise<NatsCodeObjects> {
    const objects = new NatsCodeObjects(nc, prefix)
    await objects.#bind()
    return objects
  }

  #bind(): Promise<{ os: ObjectStore; jsm: JetStreamManager }> {
    this.#bound ??= (async () => {
      const os = await this.#js.views.os(this.bucket, {
        description: 'Strato code packages by SHA-512 digest',
      })
      return { os, jsm: await this.#nc.jetstreamManager() }
    })()
    this.#bound.catch(() => {
      this.#bound = undefined
    })
    return this.#bound
  }

  /**
   * Resolves once JetStream acknowledged every chunk and the description. A package already held
   * with the same bytes is not sent again: only its time is refreshed, so the collector (which
   * spares packages stored within the last hour) cannot delete it under an ingest whose function
   * row is not written yet. Held bytes that differ (a damaged object) are replaced.
   */
  async put(digest: string, bytes: Buffer): Promise<void> {
    await this.#bind()
    const sha256 = sha256Digest(bytes)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const held = await this.#rawInfo(digest)
      const live = held !== undefined && held.info.deleted !== true
      if (live && sameDigest(held.info.digest, sha256)) {
        if (await this.#publishInfo({ ...held.info, mtime: new Date().toISOString() }, held.seq)) {
          return
        }
      } else if (await this.#upload(digest, bytes, sha256, held)) {
        return
      }
    }
    throw new Error(`Storing code object ${digest.slice(0, 16)}… kept racing other writers.`)
  }

  /**
   * Writes the chunks, then the description fenced on `held` (none: the name must be new), so two
   * nodes' first uploads of one package settle on one of them. False when another write came
   * first (this upload's chunks are purged). The library's `put` does the same but hashes in
   * JavaScript, which took 0.8 s of a 20 MB put here.
   */
  async #upload(
    name: string,
    bytes: Buffer,
    sha256: string,
    held: { info: RawObjectInfo; seq: number } | undefined,
  ): Promise<boolean> {
    const { jsm } = await this.#bind()
    const id = nuid.next()
    const chunkSubject = `$O.${this.bucket}.C.${id}`
    const chunkBytes = Math.min(CHUNK_BYTES, this.#nc.info?.max_payload ?? CHUNK_BYTES)
    const info: RawObjectInfo = {
      name,
      description: '',
      options: { max_chunk_size: chunkBytes },
      bucket: this.bucket,
      nuid: id,
      size: bytes.length,
      chunks: Math.ceil(bytes.length / chunkBytes),
      mtime: new Date().toISOString(),
      digest: sha256,
      deleted: false,
    }
    let published = false
    try {
      const acks: Array<Promise<unknown>> = []
      for (let at = 0; at < bytes.length; at += chunkBytes) {
        acks.push(this.#js.publish(chunkSubject, bytes.subarray(at, at + chunkBytes)))
      }
      await Promise.all(acks)
      published = await this.#publishInfo(info, held?.seq ?? 0)
    } finally {
      if (!published) {
        await jsm.streams.purge(this.#stream, { filter: chunkSubject }).catch(() => undefined)
      }
    }
    if (published && held !== undefined && held.info.deleted !== true) {
      // The replaced bytes' chunks; failing here leaves them unreachable, not wrong.
      await jsm.streams
        .purge(this.#stream, { filter: `$O.${this.bucket}.C.${held.info.nuid}` })
        .catch(() => undefined)
    }
    return published
  }

  /**
   * The package's bytes, or undefined. Read like the library's `get` (an ordered consumer on the
   * object's chunks), with the SHA-256 of the description checked natively.
   */
  async get(digest: string): Promise<Buffer | undefined> {
    const { os } = await this.#bind()
    const held = await this.#rawInfo(digest)
    if (held === undefined || held.info.deleted === true) {
      return undefined
    }
    const { info } = held
    if (info.options?.link !== undefined || !info.digest.startsWith('SHA-256=')) {
      // Not written by this class (a link, another digest): the library knows every form.
      const blob = await os.getBlob(digest)
      return blob === null ? undefined : Buffer.from(blob.buffer, blob.byteOffset, blob.length)
    }
    const data = Buffer.allocUnsafe(info.size)
    let received = 0
    if (info.size > 0) {
      const opts = consumerOpts()
      opts.orderedConsumer()
      const sub = await this.#js.subscribe(`$O.${this.bucket}.C.${info.nuid}`, opts)
      let idle = setTimeout(() => sub.unsubscribe(), CHUNK_IDLE_MS)
      try {
        for await (const m of sub) {
          if (received + m.data.length > info.size) {
            break
          }
          data.set(m.data, received)
          received += m.data.length
          if (m.info.pending === 0) {
            break
          }
          clearTimeout(idle)
          idle = setTimeout(() => sub.unsubscribe(), CHUNK_IDLE_MS)
        }
      } finally {
        clearTimeout(idle)
        sub.unsubscribe()
      }
    }
    if (received !== info.size || !sameDigest(sha256Digest(data), info.digest)) {
      throw new Error(
        `Code object ${digest.slice(0, 16)}… came back incomplete or altered (${received} of ${info.size} bytes).`,
      )
    }
    return data
  }

  async delete(digest: string): Promise<void> {
    const { os } = await this.#bind()
    await os.delete(digest)
  }

  /** Every package the bucket holds, with when it was last stored. */
  async list(): Promise<StoredCodeObject[]> {
    const { os } = await this.#bind()
    return (await os.list())
      .filter((info) => !info.deleted)
      .map((info) => ({ digest: info.name, storedAt: Date.parse(info.mtime) }))
  }

  /**
   * Deletes `digest` if it was last stored at or before `cutoff` (ms since the epoch), fenced on
   * the description read: a `put` in between wins and the package stays. True when deleted.
   */
  async deleteIfStoredBy(digest: string, cutoff: number): Promise<boolean> {
    const { jsm } = await this.#bind()
    const held = await this.#rawInfo(digest)
    if (
      held === undefined ||
      held.info.deleted === true ||
      !(Date.parse(held.info.mtime) <= cutoff)
    ) {
      return false
    }
    const gone = { ...held.info, deleted: true, size: 0, chunks: 0, digest: '' }
    if (!(await this.#publishInfo(gone, held.seq))) {
      return false
    }
    await jsm.streams.purge(this.#stream, { filter: `$O.${this.bucket}.C.${held.info.nuid}` })
    return true
  }

  /** Deletes the whole bucket (tests, and an operator's reset). */
  async destroy(): Promise<void> {
    const { jsm } = await this.#bind()
    await jsm.streams.delete(this.#stream)
    this.#bound = undefined
  }

  get #stream(): string {
    return `OBJ_${this.bucket}`
  }

  #metaSubject(name: string): string {
    return `$O.${this.bucket}.M.${Buffer.from(name).toString('base64url')}${padding(name)}`
  }

  async #rawInfo(name: string): Promise<{ info: RawObjectInfo; seq: number } | undefined> {
    const { jsm } = await this.#bind()
    try {
      const m = await jsm.streams.getMessage(this.#stream, {
        last_by_subj: this.#metaSubject(name),
      })
      return { info: m.json<RawObjectInfo>(), seq: m.seq }
    } catch (err) {
      if ((err as { code?: string }).code === '404') {
        return undefined
      }
      throw err
    }
  }

  /** Replaces the description if it is still at `seq`; false when another write came first. */
  async #publishInfo(info: RawObjectInfo, seq: number): Promise<boolean> {
    const h = headers()
    h.set(JsHeaders.RollupHdr, JsHeaders.RollupValueSubject)
    h.set('Nats-Expected-Last-Subject-Sequence', `${seq}`)
    try {
      await this.#js.publish(this.#metaSubject(info.name), JSON.stringify(info), { headers: h })
      return true
    } catch (err) {
      if (isWrongLastSequence(err)) {
        return false
      }
      throw err
    }
  }
}

/** base64url as the object store writes it: with '=' padding. */
function padding(name: string): string {
  return '='.repeat((3 - (Buffer.byteLength(name) % 3)) % 3)
}

/** SHA-256 as the object store records it: `SHA-256=` and padded base64url. */
function sha256Digest(bytes: Buffer): string {
  const b64 = createHash('sha256').update(bytes).digest('base64url')
  return `SHA-256=${b64}${'='.repeat((4 - (b64.length % 4)) % 4)}`
}

/** Digests as the library writes them (padded base64url) or as other clients may (unpadded). */
function sameDigest(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '')
}

function isWrongLastSequence(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string }
  return (
    e.api_error?.err_code === WRONG_LAST_SEQUENCE ||
    (typeof e.message === 'string' && e.message.includes('wrong last sequence'))
  )
}
