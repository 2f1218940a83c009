/**
 * @module Zip archives as the code store takes them: checked from the central directory before
 * anything is written (entry count, names, declared sizes), then extracted with real bytes
 * counted again, since headers can lie.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import yauzl from 'yauzl'
import yazl from 'yazl'
import { StratoError, type IngestOptions } from '../core/index.js'
import type { CodeStoreLimits } from './code-store.js'

/** One file of a tree: relative path, size, sha256 hex, executable bit. */
export type ManifestEntry = [rel: string, size: number, sha256: string, executable: boolean]

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])
const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06])
const S_IFMT = 0o170000
const S_IFLNK = 0o120000
// A fixed timestamp makes the zip made from inline source, and so its digest, reproducible.
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z')

export function isZip(bytes: Buffer): boolean {
  return bytes.subarray(0, 4).equals(ZIP_MAGIC) || bytes.subarray(0, 4).equals(EMPTY_ZIP_MAGIC)
}

export function sha512Hex(data: Buffer): string {
  return createHash('sha512').update(data).digest('hex')
}

export function invalidCode(detail: string, cause?: unknown): StratoError {
  return new StratoError('INVALID_CODE', detail, cause === undefined ? undefined : { cause })
}

/** An entry name as quoted in an error: names may be 64 KiB long. */
function shown(name: string): string {
  return name.length <= 120 ? name : `${name.slice(0, 60)}…${name.slice(-40)}`
}

/**
 * Why extraction failed, in words that never hold a server path (Node's fs messages quote the
 * full path under the data dir).
 */
function extractionFailure(err: unknown, entryName: string | undefined): StratoError {
  if (err instanceof StratoError) {
    return err
  }
  const errno = (err as NodeJS.ErrnoException).code
  const reason =
    typeof errno === 'string'
      ? `writing ${entryName === undefined ? 'an entry' : `'${shown(entryName)}'`} failed (${errno})`
      : (err as Error).message
  return invalidCode(`The code package cannot be extracted: ${reason}.`, err)
}

/**
 * Refuses an entry name the tree could not hold safely: past the path, name or depth limits
 * (a tree nested past PATH_MAX cannot be run or removed), a symlink, or a path out of the tree.
 */
function checkEntryName(name: string, mode: number, limits: CodeStoreLimits): void {
  if ((mode & S_IFMT) === S_IFLNK) {
    throw invalidCode(
      `The code package holds a symbolic link '${shown(name)}'; links are not allowed.`,
    )
  }
  const segments = name.split('/').filter((s) => s !== '')
  const depth = name.endsWith('/') ? segments.length : segments.length - 1
  if (depth > limits.pathMaxDepth) {
    throw invalidCode(
      `The code package nests folders ${depth} deep ('${shown(name)}'); the limit is ${limits.pathMaxDepth}.`,
    )
  }
  const pathBytes = Buffer.byteLength(name)
  if (pathBytes > limits.pathMaxBytes) {
    throw invalidCode(
      `The code package holds a path of ${pathBytes} bytes ('${shown(name)}'); the limit is ${limits.pathMaxBytes}.`,
    )
  }
  const long = segments.find((s) => Buffer.byteLength(s) > limits.nameMaxBytes)
  if (long !== undefined) {
    throw invalidCode(
      `The code package holds a name of ${Buffer.byteLength(long)} bytes ('${shown(long)}'); the limit is ${limits.nameMaxBytes}.`,
    )
  }
  if (segments.some((s) => s === '.' || s === '..')) {
    throw invalidCode(`The code package entry '${shown(name)}' points outside the code directory.`)
  }
}

function openZip(bytes: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      bytes,
      { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, decodeStrings: true },
      (openErr, zip) => {
        if (openErr !== null || zip === undefined) {
          reject(
            invalidCode(
              `The code package is not a readable zip archive: ${openErr?.message ?? 'unknown error'}.`,
              openErr,
            ),
          )
          return
        }
        resolve(zip)
      },
    )
  })
}

/**
 * Zips one source file deterministically, so inline source is stored like any package; an
 * `executable` one (a `bootstrap`) gets mode 755, as a user's `chmod +x` would give it.
 */
export async function zipSingleFile(
  name: string,
  content: Buffer,
  executable = false,
): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(content, name, { mtime: FIXED_MTIME, mode: executable ? 0o100755 : 0o100644 })
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Refuses once `unzipped` bytes (declared or written) pass the package's or the project's limit. */
function checkUnzippedBytes(
  limits: CodeStoreLimits,
  unzipped: number,
  packageBytes: number,
  options: IngestOptions,
  source: 'declared' | 'written',
): void {
  const limit = limits.unzippedMaxBytes
  if (unzipped > limit) {
    throw new StratoError(
      'CODE_TOO_LARGE',
      source === 'declared'
        ? `The code package declares at least ${unzipped} bytes unzipped; the limit is ${limit}.`
        : `The code package unzips to more than ${limit} bytes, the limit.`,
    )
  }
  const quota = options.quota
  if (quota !== undefined && quota.usedBytes + packageBytes + unzipped > quota.limitBytes) {
    throw new StratoError(
      'CODE_TOO_LARGE',
      `The project's code would total at least ${quota.usedBytes + packageBytes + unzipped} bytes (zips and unzipped files); the limit is ${quota.limitBytes}.`,
    )
  }
}

/**
 * Reads the central directory only: refuses too many entries at once (the count is in the
 * archive's last record), then any entry whose name cannot be stored safely, a name held twice
 * or as both file and folder, and a declared unzipped total past the limits.
 */
export async function scanArchive(
  bytes: Buffer,
  limits: CodeStoreLimits,
  options: IngestOptions,
): Promise<void> {
  const zip = await openZip(bytes)
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw invalidCode(
        `The code package has ${zip.entryCount} entries; the limit is ${limits.maxEntries}.`,
      )
    }
    const files = new Set<string>()
    const dirs = new Set<string>()
    let declared = 0
    for (;;) {
      const entry = await nextEntry(zip)
      if (entry === undefined) {
        break
      }
      const name = entry.fileName
      checkEntryName(name, (entry.externalFileAttributes >>> 16) & 0xffff, limits)
      const segments = name.split('/').filter((s) => s !== '')
      const isDir = name.endsWith('/')
      for (let i = 1; i <= segments.length - (isDir ? 0 : 1); i++) {
        const dir = segments.slice(0, i).join('/')
        if (files.has(dir)) {
          throw invalidCode(`The code package holds '${shown(dir)}' as a file and as a folder.`)
        }
        dirs.add(dir)
      }
      if (isDir) {
        continue
      }
      const file = segments.join('/')
      if (files.has(file)) {
        throw invalidCode(`The code package holds '${shown(name)}' twice.`)
      }
      if (dirs.has(file)) {
        throw invalidCode(`The code package holds '${shown(file)}' as a file and as a folder.`)
      }
      files.add(file)
      declared += entry.uncompressedSize
      checkUnzippedBytes(limits, declared, bytes.length, options, 'declared')
    }
  } catch (err) {
    throw extractionFailure(err, undefined)
  } finally {
    zip.close()
  }
}

/** Extracts every entry under `dest`, recording each file in `files`; counts real bytes. */
export async function unzipInto(
  dest: string,
  bytes: Buffer,
  files: ManifestEntry[],
  limits: CodeStoreLimits,
  options: IngestOptions,
): Promise<void> {
  const zip = await openZip(bytes)
  return new Promise((resolve, reject) => {
    let total = 0
    let current: string | undefined
    let failed = false
    const fail = (err: unknown): void => {
      if (failed) {
        return
      }
      failed = true
      zip.close()
      reject(extractionFailure(err, current))
    }
    zip.on('error', fail)
    zip.on('end', () => resolve())
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName
      current = name
      const mode = (entry.externalFileAttributes >>> 16) & 0xffff
      // scanArchive checked every name; this double-checks what ends up on disk stays inside.
      const target = path.resolve(dest, name)
      if (target !== dest && !target.startsWith(dest + path.sep)) {
        fail(
          invalidCode(`The code package entry '${shown(name)}' points outside the code directory.`),
        )
        return
      }
      try {
        if (name.endsWith('/')) {
          fs.mkdirSync(target, { recursive: true })
          zip.readEntry()
          return
        }
        fs.mkdirSync(path.dirname(target), { recursive: true })
      } catch (err) {
        fail(err)
        return
      }
      zip.openReadStream(entry, (streamErr, stream) => {
        if (streamErr !== null || stream === undefined) {
          fail(streamErr ?? new Error('no stream'))
          return
        }
        const executable = (mode & 0o111) !== 0
        const out = fs.createWriteStream(target, { mode: executable ? 0o555 : 0o444 })
        const hash = createHash('sha256')
        let size = 0
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length
          total += chunk.length
          hash.update(chunk)
          try {
            checkUnzippedBytes(limits, total, bytes.length, options, 'written')
          } catch (err) {
            // Stop writing at once: no further chunk reaches the disk.
            stream.unpipe(out)
            stream.destroy()
            out.destroy()
            fail(err)
          }
        })
        stream.on('error', fail)
        out.on('error', fail)
        out.on('finish', () => {
          if (failed) {
            return
          }
          files.push([name, size, hash.digest('hex'), executable])
          zip.readEntry()
        })
        stream.pipe(out)
      })
    })
    zip.readEntry()
  })
}

/** The next entry of a lazily read zip, or undefined at its end. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry)
      zip.off('end', onEnd)
      zip.off('error', onError)
    }
    const onEntry = (entry: yauzl.Entry): void => {
      done()
      resolve(entry)
    }
    const onEnd = (): void => {
      done()
      resolve(undefined)
    }
    const onError = (err: Error): void => {
      done()
      reject(err)
    }
    zip.on('entry', onEntry)
    zip.on('end', onEnd)
    zip.on('error', onError)
    zip.readEntry()
  })
}
