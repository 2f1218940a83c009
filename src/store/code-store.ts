/**
 * @module The content-addressed code store: one zip package and one read-only extracted tree per
 * SHA-512 digest, checked against a manifest before any instance runs it.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import yauzl from 'yauzl'
import yazl from 'yazl'
import {
  Limits,
  SOURCE_EXTENSIONS,
  StratoError,
  type CodeInput,
  type CodeType,
  type RuntimeFamily,
} from '../core/index.js'

/** What the function record keeps of its code. */
export interface StoredCode {
  readonly digest: string
  readonly codeSize: number
  readonly codeFilename: string
  readonly codeType: CodeType
}

export interface CodeStoreLimits {
  readonly packageMaxBytes: number
  readonly inlineSourceMaxBytes: number
  readonly unzippedMaxBytes: number
  readonly maxEntries: number
}

export const DEFAULT_CODE_LIMITS: CodeStoreLimits = {
  packageMaxBytes: Limits.CODE_PACKAGE_MAX_BYTES,
  inlineSourceMaxBytes: Limits.INLINE_SOURCE_MAX_BYTES,
  unzippedMaxBytes: Limits.CODE_UNZIPPED_MAX_BYTES,
  maxEntries: Limits.CODE_MAX_ENTRIES,
}

/** One file of a tree: relative path, size, sha256 hex, executable bit. */
type ManifestEntry = [rel: string, size: number, sha256: string, executable: boolean]
interface Manifest {
  readonly files: ManifestEntry[]
}
/** What stat says of a file when its content was last hashed; ctime changes on every write. */
interface Fingerprint {
  readonly size: number
  readonly ino: number
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])
const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06])
const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const PIN_AFTER_INGEST_MS = 10 * 60_000
// A fixed timestamp makes the zip made from inline source, and so its digest, reproducible.
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z')

function isZip(bytes: Buffer): boolean {
  return bytes.subarray(0, 4).equals(ZIP_MAGIC) || bytes.subarray(0, 4).equals(EMPTY_ZIP_MAGIC)
}

function sha512Hex(data: Buffer): string {
  return createHash('sha512').update(data).digest('hex')
}

function invalidCode(detail: string, cause?: unknown): StratoError {
  return new StratoError('INVALID_CODE', detail, cause === undefined ? undefined : { cause })
}

/** Zips one source file deterministically, so inline source is stored like any package. */
async function zipSingleFile(name: string, content: Buffer): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(content, name, { mtime: FIXED_MTIME, mode: 0o100644 })
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The module file a handler names, e.g. `src/index.handler` → `src/index`. */
export function handlerModulePath(handler: string): string {
  const dot = handler.lastIndexOf('.')
  // An HTTP function's handler is a file name ('bootstrap'), not 'module.function'.
  return dot < 0 ? handler : handler.slice(0, dot)
}

/** Content-addressed packages and trees under `<dataDir>/code`. */
export class CodeStore {
  readonly #packagesDir: string
  readonly #treesDir: string
  readonly #tmpDir: string
  readonly #limits: CodeStoreLimits
  /** Digests ingested recently, kept from garbage collection until their function row exists. */
  readonly #pinnedUntil = new Map<string, number>()
  /** Per digest: fingerprints of files whose content was hashed and matched the manifest. */
  readonly #verified = new Map<string, Map<string, Fingerprint>>()

  constructor(dataDir: string, limits: CodeStoreLimits = DEFAULT_CODE_LIMITS) {
    const root = path.join(dataDir, 'code')
    this.#packagesDir = path.join(root, 'packages')
    this.#treesDir = path.join(root, 'trees')
    this.#tmpDir = path.join(root, 'tmp')
    this.#limits = limits
    for (const dir of [this.#packagesDir, this.#treesDir, this.#tmpDir]) {
      fs.mkdirSync(dir, { recursive: true })
    }
    // Half-written trees of a crashed run are garbage: the rename into trees/ never happened.
    for (const leftover of fs.readdirSync(this.#tmpDir)) {
      fs.rmSync(path.join(this.#tmpDir, leftover), { recursive: true, force: true })
    }
  }

  /**
   * Takes code from an API body: checks its size, turns inline source into a one-file zip,
   * extracts and checks the archive, and checks that the handler's module is in it.
   */
  async ingest(input: CodeInput, family: RuntimeFamily, handler: string): Promise<StoredCode> {
    const modulePath = handlerModulePath(handler)
    let packageBytes: Buffer
    let codeFilename: string
    if (isZip(input.bytes)) {
      if (input.bytes.length > this.#limits.packageMaxBytes) {
        throw new StratoError(
          'CODE_TOO_LARGE',
          `The code package is ${input.bytes.length} bytes; the limit is ${this.#limits.packageMaxBytes}.`,
        )
      }
      packageBytes = input.bytes
      codeFilename = input.codeFilename ?? `${path.basename(modulePath)}.zip`
    } else if (input.codeType === 'inline') {
      if (input.bytes.length > this.#limits.inlineSourceMaxBytes) {
        throw new StratoError(
          'INLINE_CODE_TOO_LARGE',
          `The inline source is ${input.bytes.length} bytes; the limit is ${this.#limits.inlineSourceMaxBytes}. Upload a zip instead.`,
        )
      }
      const ext = SOURCE_EXTENSIONS[family][0] ?? ''
      codeFilename = `${modulePath}${ext}`
      packageBytes = await zipSingleFile(codeFilename, input.bytes)
      codeFilename = path.basename(codeFilename)
    } else {
      throw invalidCode(`code_type '${input.codeType}' needs a zip archive; this is not one.`)
    }
    const digest = await this.#store(packageBytes)
    const tree = this.treePath(digest)
    if (
      !SOURCE_EXTENSIONS[family].some((ext) => fs.existsSync(path.join(tree, modulePath + ext)))
    ) {
      throw invalidCode(
        `The code has no ${SOURCE_EXTENSIONS[family].map((e) => `'${modulePath}${e}'`).join(' or ')} for the handler '${handler}'.`,
      )
    }
    return { digest, codeSize: packageBytes.length, codeFilename, codeType: input.codeType }
  }

  /**
   * Takes a zip that is not function code (a dependency package): the same checks and limits,
   * no handler. Returns its digest and size.
   */
  async ingestArchive(bytes: Buffer): Promise<{ digest: string; size: number }> {
    if (!isZip(bytes)) {
      throw invalidCode('The package is not a zip archive.')
    }
    if (bytes.length > this.#limits.packageMaxBytes) {
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The package is ${bytes.length} bytes; the limit is ${this.#limits.packageMaxBytes}.`,
      )
    }
    return { digest: await this.#store(bytes), size: bytes.length }
  }

  /** Stores a package under its digest (extracting it once) and keeps it from GC for a while. */
  async #store(packageBytes: Buffer): Promise<string> {
    const digest = sha512Hex(packageBytes)
    this.#pinnedUntil.set(digest, Date.now() + PIN_AFTER_INGEST_MS)
    if (!fs.existsSync(this.treePath(digest))) {
      await this.#extract(digest, packageBytes)
    }
    return digest
  }

  treePath(digest: string): string {
    return path.join(this.#treesDir, digest)
  }

  /** The stored package, for show-code. */
  async readPackage(digest: string): Promise<Buffer> {
    return fsp.readFile(path.join(this.#packagesDir, `${digest}.zip`))
  }

  /**
   * Refuses to hand out a tree whose files differ from the manifest written at extraction: changed,
   * added or removed files, or a package whose bytes no longer hash to `digest`. Content is rehashed
   * only for files whose stat fingerprint changed since the last check in this process.
   */
  async verify(digest: string): Promise<string> {
    const tree = this.treePath(digest)
    const fail = (why: string): never => {
      this.#verified.delete(digest)
      throw new StratoError(
        'CODE_INTEGRITY',
        `The stored code ${digest.slice(0, 16)}… does not match its digest (${why}); refusing to run it.`,
      )
    }
    let manifest: Manifest
    try {
      manifest = JSON.parse(await fsp.readFile(`${tree}.manifest.json`, 'utf8')) as Manifest
    } catch {
      return fail('its manifest is missing or unreadable')
    }
    let known = this.#verified.get(digest)
    if (known === undefined) {
      const pkg = await fsp
        .readFile(path.join(this.#packagesDir, `${digest}.zip`))
        .catch(() => undefined)
      if (pkg === undefined || sha512Hex(pkg) !== digest) {
        return fail('the package file is missing or altered')
      }
      known = new Map()
      this.#verified.set(digest, known)
    }
    const onDisk = await this.#listFiles(tree)
    const expected = new Map(manifest.files.map((f) => [f[0], f]))
    if (onDisk.length < manifest.files.length) {
      const present = new Set(onDisk)
      const missing = manifest.files.find((f) => !present.has(f[0]))
      return fail(`'${missing?.[0] ?? '?'}' is missing`)
    }
    for (const rel of onDisk) {
      const entry = expected.get(rel)
      if (entry === undefined) {
        return fail(`'${rel}' is not part of the package`)
      }
      const st = await fsp.lstat(path.join(tree, rel), { bigint: true })
      if (!st.isFile()) {
        return fail(`'${rel}' is no longer a regular file`)
      }
      const fp: Fingerprint = {
        size: Number(st.size),
        ino: Number(st.ino),
        mtimeNs: st.mtimeNs,
        ctimeNs: st.ctimeNs,
      }
      const seen = known.get(rel)
      if (
        seen !== undefined &&
        seen.size === fp.size &&
        seen.ino === fp.ino &&
        seen.mtimeNs === fp.mtimeNs &&
        seen.ctimeNs === fp.ctimeNs
      ) {
        continue
      }
      if (fp.size !== entry[1]) {
        return fail(`'${rel}' changed size`)
      }
      const hash = createHash('sha256')
        .update(await fsp.readFile(path.join(tree, rel)))
        .digest('hex')
      if (hash !== entry[2]) {
        return fail(`'${rel}' changed content`)
      }
      known.set(rel, fp)
    }
    return tree
  }

  /**
   * Removes packages and trees whose digest is not in `keep` (digests functions reference or live
   * instances run) and was not ingested in the last few minutes (its function row may not be written
   * yet). Returns how many were removed.
   */
  async collectGarbage(keep: ReadonlySet<string>): Promise<number> {
    const now = Date.now()
    for (const [digest, until] of this.#pinnedUntil) {
      if (until < now) {
        this.#pinnedUntil.delete(digest)
      }
    }
    let removed = 0
    for (const name of await fsp.readdir(this.#packagesDir)) {
      const digest = name.replace(/\.zip$/, '')
      if (!keep.has(digest) && !this.#pinnedUntil.has(digest)) {
        await this.#remove(digest)
        removed++
      }
    }
    return removed
  }

  async #remove(digest: string): Promise<void> {
    const tree = this.treePath(digest)
    await fsp.chmod(tree, 0o755).catch(() => undefined)
    await this.#makeWritable(tree)
    await fsp.rm(tree, { recursive: true, force: true })
    await fsp.rm(`${tree}.manifest.json`, { force: true })
    await fsp.rm(path.join(this.#packagesDir, `${digest}.zip`), { force: true })
    this.#verified.delete(digest)
  }

  async #makeWritable(dir: string): Promise<void> {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      if (e.isDirectory()) {
        const sub = path.join(dir, e.name)
        await fsp.chmod(sub, 0o755)
        await this.#makeWritable(sub)
      }
    }
  }

  async #listFiles(root: string, rel = ''): Promise<string[]> {
    const out: string[] = []
    const entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true })
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) {
        out.push(...(await this.#listFiles(root, r)))
      } else {
        out.push(r)
      }
    }
    return out
  }

  /**
   * Extracts into a temporary dir, then renames into place, so a tree is either whole or absent.
   * Refuses zip-slip paths, absolute paths, backslashes, symlinks, duplicates, and archives past
   * the entry or unzipped-size limits (counting real bytes, since headers can lie).
   */
  async #extract(digest: string, bytes: Buffer): Promise<void> {
    const staging = await fsp.mkdtemp(path.join(this.#tmpDir, 'x-'))
    const files: ManifestEntry[] = []
    try {
      await this.#unzipInto(staging, bytes, files)
      if (files.length === 0) {
        throw invalidCode('The code package is empty.')
      }
      await fsp.writeFile(path.join(this.#packagesDir, `${digest}.zip`), bytes, { mode: 0o444 })
      await this.#freeze(staging)
      await fsp.writeFile(
        `${this.treePath(digest)}.manifest.json`,
        JSON.stringify({ files } satisfies Manifest),
      )
      await fsp.rename(staging, this.treePath(digest)).catch(async (err: NodeJS.ErrnoException) => {
        // Another upload of the same package won the race: its tree is identical.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') {
          throw err
        }
        await this.#makeWritable(staging)
        await fsp.rm(staging, { recursive: true, force: true })
      })
    } catch (err) {
      await fsp.chmod(staging, 0o755).catch(() => undefined)
      await this.#makeWritable(staging)
      await fsp.rm(staging, { recursive: true, force: true })
      throw err
    }
  }

  async #freeze(dir: string): Promise<void> {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        await this.#freeze(path.join(dir, e.name))
      }
    }
    await fsp.chmod(dir, 0o555)
  }

  #unzipInto(dest: string, bytes: Buffer, files: ManifestEntry[]): Promise<void> {
    const limits = this.#limits
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
          let total = 0
          let entries = 0
          const seen = new Set<string>()
          const fail = (err: unknown): void => {
            zip.close()
            reject(
              err instanceof StratoError
                ? err
                : invalidCode(
                    `The code package cannot be extracted: ${(err as Error).message}.`,
                    err,
                  ),
            )
          }
          zip.on('error', fail)
          zip.on('end', () => resolve())
          zip.on('entry', (entry: yauzl.Entry) => {
            entries++
            if (entries > limits.maxEntries) {
              fail(invalidCode(`The code package has more than ${limits.maxEntries} entries.`))
              return
            }
            const name = entry.fileName
            const mode = (entry.externalFileAttributes >>> 16) & 0xffff
            if ((mode & S_IFMT) === S_IFLNK) {
              fail(
                invalidCode(
                  `The code package holds a symbolic link '${name}'; links are not allowed.`,
                ),
              )
              return
            }
            // yauzl already refuses absolute paths, '..' segments and (strict) backslashes;
            // this double-checks what ends up on disk stays inside the tree.
            const target = path.resolve(dest, name)
            if (target !== dest && !target.startsWith(dest + path.sep)) {
              fail(
                invalidCode(`The code package entry '${name}' points outside the code directory.`),
              )
              return
            }
            if (name.endsWith('/')) {
              fs.mkdirSync(target, { recursive: true })
              zip.readEntry()
              return
            }
            if (seen.has(name)) {
              fail(invalidCode(`The code package holds '${name}' twice.`))
              return
            }
            seen.add(name)
            zip.openReadStream(entry, (streamErr, stream) => {
              if (streamErr !== null || stream === undefined) {
                fail(streamErr ?? new Error('no stream'))
                return
              }
              fs.mkdirSync(path.dirname(target), { recursive: true })
              const executable = (mode & 0o111) !== 0
              const out = fs.createWriteStream(target, { mode: executable ? 0o555 : 0o444 })
              const hash = createHash('sha256')
              let size = 0
              stream.on('data', (chunk: Buffer) => {
                size += chunk.length
                total += chunk.length
                hash.update(chunk)
                if (total > limits.unzippedMaxBytes) {
                  stream.destroy()
                  out.destroy()
                  fail(
                    new StratoError(
                      'CODE_TOO_LARGE',
                      `The code package unzips to more than ${limits.unzippedMaxBytes} bytes.`,
                    ),
                  )
                }
              })
              stream.on('error', fail)
              out.on('error', fail)
              out.on('finish', () => {
                files.push([name, size, hash.digest('hex'), executable])
                zip.readEntry()
              })
              stream.pipe(out)
            })
          })
          zip.readEntry()
        },
      )
    })
  }
}
