/**
 * @module Code packages stored once for the cluster (ADR 0028): a JetStream object store bucket
 * `<prefix>_code`, one object per package, named by its SHA-512 digest (hex).
 */
import { createHash } from 'node:crypto'
import {
  headers,
  JsHeaders,
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
  nuid: string
  mtime: string
  deleted?: boolean
  size: number
  chunks: number
  digest: string
  [field: string]: unknown
}

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
    const { os } = await this.#bind()
    const sha256 = `SHA-256=${createHash('sha256').update(bytes).digest('base64url')}`
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const held = await this.#rawInfo(digest)
      if (
        held !== undefined &&
        held.info.deleted !== true &&
        sameDigest(held.info.digest, sha256)
      ) {
        if (await this.#publishInfo({ ...held.info, mtime: new Date().toISOString() }, held.seq)) {
          return
        }
        continue
      }
      try {
        // The expected sequence (0: no description yet) makes two nodes' first uploads of one
        // package settle on one of them; the loser's chunks are purged by the library.
        await os.putBlob({ name: digest }, bytes, { previousRevision: held?.seq ?? 0 })
        return
      } catch (err) {
        if (!isWrongLastSequence(err)) {
          throw err
        }
      }
    }
    throw new Error(`Storing code object ${digest.slice(0, 16)}… kept racing other writers.`)
  }

  /** The package's bytes (their SHA-256 checked by the library), or undefined. */
  async get(digest: string): Promise<Buffer | undefined> {
    const { os } = await this.#bind()
    const bytes = await os.getBlob(digest)
    return bytes === null ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
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
