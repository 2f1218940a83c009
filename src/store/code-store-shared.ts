/**
 * @module Cluster mode's side of the code store (ADR 0028): putting packages in the bucket every
 * node shares, fetching and checking one a node lacks, and sweeping the bucket of packages nothing
 * references. `CodeStore` calls these; the bucket is core's `CodeObjects` port.
 */
import { StratoError, type CodeObjects } from '../core/index.js'
import { isZip, sha512Hex } from './code-archive.js'
import { isTarArchive } from './image-archive.js'

/** What a package is: a zip of files, or a container image archive (a tar of layers). */
export type PackageFormat = 'zip' | 'image'

/**
 * A package in the cluster's bucket goes only once unreferenced for this long since it was last
 * stored: an ingest on another node pins it there, not here, until its function row is written.
 */
export const SHARED_PACKAGE_MIN_AGE_MS = 60 * 60_000

/**
 * A shared bucket the collector can sweep (NatsCodeObjects): its packages with when each was last
 * stored, and a delete that loses to a `put` made since the listing. Core's `CodeObjects` port has
 * put/get/delete only; a bucket without these is never swept (packages stay).
 */
export interface SweptCodeObjects extends CodeObjects {
  list(): Promise<ReadonlyArray<{ readonly digest: string; readonly storedAt: number }>>
  deleteIfStoredBy(digest: string, cutoff: number): Promise<boolean>
}

export function isSwept(objects: CodeObjects): objects is SweptCodeObjects {
  const o = objects as Partial<SweptCodeObjects>
  return typeof o.list === 'function' && typeof o.deleteIfStoredBy === 'function'
}

export function integrityError(digest: string, why: string): StratoError {
  return new StratoError(
    'CODE_INTEGRITY',
    `The stored code ${digest.slice(0, 16)}… does not match its digest (${why}); refusing to run it.`,
  )
}

/** Puts a package in the bucket; SERVICE_UNAVAILABLE when the bucket cannot take it now. */
export async function sharePackage(
  objects: CodeObjects,
  digest: string,
  bytes: Buffer,
): Promise<void> {
  try {
    await objects.put(digest, bytes)
  } catch (err) {
    throw new StratoError(
      'SERVICE_UNAVAILABLE',
      "Storing the code package in the cluster's object store failed; try again.",
      { cause: err },
    )
  }
}

/**
 * The package `digest` names, from the bucket, once it hashes to `digest` (CODE_INTEGRITY
 * otherwise) and is a zip or an image archive within this node's size limit; undefined when the
 * bucket does not hold it.
 */
export async function fetchPackage(
  objects: CodeObjects,
  digest: string,
  packageMaxBytes: number,
): Promise<{ bytes: Buffer; format: PackageFormat } | undefined> {
  let bytes: Buffer | undefined
  try {
    bytes = await objects.get(digest)
  } catch (err) {
    throw new StratoError(
      'SERVICE_UNAVAILABLE',
      `Fetching the code ${digest.slice(0, 16)}… from the cluster's object store failed.`,
      { cause: err },
    )
  }
  if (bytes === undefined) {
    return undefined
  }
  if (sha512Hex(bytes) !== digest) {
    throw integrityError(digest, "the cluster's copy of the package is altered")
  }
  const format: PackageFormat | undefined = isZip(bytes)
    ? 'zip'
    : isTarArchive(bytes)
      ? 'image'
      : undefined
  if (format === undefined) {
    throw integrityError(digest, "the cluster's copy is neither a zip nor an image archive")
  }
  if (bytes.length > packageMaxBytes) {
    throw new StratoError(
      'CODE_TOO_LARGE',
      `The code package is ${bytes.length} bytes; this node's limit is ${packageMaxBytes}.`,
    )
  }
  return { bytes, format }
}

/**
 * Deletes from the bucket what `keep` does not name, `held` (an ingest or extraction on this node)
 * does not hold, and nobody stored after `cutoff` (an ingest on another node holds its digest
 * there, unseen here). Each delete is fenced: a `put` after the listing keeps the package. Adds
 * what went to `removed`, what failed to `failures`.
 */
export async function sweepObjects(
  objects: SweptCodeObjects,
  keep: ReadonlySet<string>,
  held: (digest: string) => boolean,
  cutoff: number,
  removed: Set<string>,
  failures: Array<{ what: string; error: unknown }>,
): Promise<void> {
  let listed: Awaited<ReturnType<SweptCodeObjects['list']>>
  try {
    listed = await objects.list()
  } catch (error) {
    failures.push({ what: 'code objects (listing the bucket)', error })
    return
  }
  for (const { digest, storedAt } of listed) {
    if (keep.has(digest) || storedAt > cutoff || held(digest)) {
      continue
    }
    try {
      if (await objects.deleteIfStoredBy(digest, cutoff)) {
        removed.add(digest)
      }
    } catch (error) {
      failures.push({ what: `code objects/${digest.slice(0, 16)}…`, error })
    }
  }
}
