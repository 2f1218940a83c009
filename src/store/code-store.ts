/**
 * @module The content-addressed code store: one zip package and one read-only extracted tree per
 * SHA-512 digest, checked against a manifest before any instance runs it.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import {
  invalidCode,
  isZip,
  scanArchive,
  sha512Hex,
  unzipInto,
  zipSingleFile,
  type ManifestEntry,
} from './code-archive.js'
import {
  fetchPackage,
  integrityError,
  isSwept,
  sharePackage,
  SHARED_PACKAGE_MIN_AGE_MS,
  sweepObjects,
  type PackageFormat,
} from './code-store-shared.js'
import { isTarArchive, unpackImage } from './image-archive.js'
import { removeTree } from './remove-tree.js'
import {
  handlerModuleOf,
  codeFormatOf,
  Limits,
  SOURCE_EXTENSIONS,
  StratoError,
  type CodeCollection,
  type CodeInput,
  type CodeObjects,
  type CodeRepository,
  type IngestOptions,
  type RuntimeFamily,
  type StoredCode,
} from '../core/index.js'

export interface CodeStoreLimits {
  readonly packageMaxBytes: number
  readonly inlineSourceMaxBytes: number
  readonly unzippedMaxBytes: number
  readonly maxEntries: number
  readonly pathMaxBytes: number
  readonly nameMaxBytes: number
  readonly pathMaxDepth: number
}

export const DEFAULT_CODE_LIMITS: CodeStoreLimits = {
  packageMaxBytes: Limits.CODE_PACKAGE_MAX_BYTES,
  inlineSourceMaxBytes: Limits.INLINE_SOURCE_MAX_BYTES,
  unzippedMaxBytes: Limits.CODE_UNZIPPED_MAX_BYTES,
  maxEntries: Limits.CODE_MAX_ENTRIES,
  pathMaxBytes: Limits.CODE_PATH_MAX_BYTES,
  nameMaxBytes: Limits.CODE_NAME_MAX_BYTES,
  pathMaxDepth: Limits.CODE_PATH_MAX_DEPTH,
}

interface Manifest {
  readonly files: ManifestEntry[]
  /** Sum of the files' sizes (absent in manifests written before it was recorded). */
  readonly unzippedBytes?: number
  /** Symbolic links and their targets (container images only: zips may hold none). */
  readonly symlinks?: ReadonlyArray<[rel: string, target: string]>
}
/** An ingest's hold on a digest until its function (or dependency) row is written. */
interface Pin {
  count: number
  until: number
  /** The collection sequence number when the last holder released it. */
  releasedAt: number
}
/** What stat says of a file when its content was last hashed; ctime changes on every write. */
interface Fingerprint {
  readonly size: number
  readonly ino: number
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
}

const PIN_AFTER_INGEST_MS = 10 * 60_000
/** The module file a handler names, e.g. `src/index.handler` → `src/index`. */
export function handlerModulePath(handler: string): string {
  const dot = handler.lastIndexOf('.')
  // An HTTP function's handler is a file name ('bootstrap'), not 'module.function'.
  return dot < 0 ? handler : handler.slice(0, dot)
}

/** Content-addressed packages and trees under `<dataDir>/code`. */
export class CodeStore implements CodeRepository {
  readonly #packagesDir: string
  readonly #treesDir: string
  readonly #tmpDir: string
  readonly #limits: CodeStoreLimits
  /** Digests being ingested, kept from garbage collection until their function row exists. */
  readonly #pins = new Map<string, Pin>()
  /** Per digest: fingerprints of files whose content was hashed and matched the manifest. */
  readonly #verified = new Map<string, Map<string, Fingerprint>>()
  /** Per digest: bytes of its extracted files. */
  readonly #unzippedSizes = new Map<string, number>()
  /** Extractions and removals in progress: work on the same digest waits for them. */
  readonly #extracting = new Map<string, Promise<void>>()
  readonly #removing = new Map<string, Promise<void>>()
  /** Names under tmp/ of extractions in progress. */
  readonly #staging = new Set<string>()
  /** Collections run one at a time, numbered. */
  #collecting: Promise<unknown> = Promise.resolve()
  #collectionSeq = 0
  #tmpSwept = false
  readonly #objects: CodeObjects | undefined
  readonly #objectMinAgeMs: number
  /** Fetches from the shared bucket in progress: verifies of one digest wait for one fetch. */
  readonly #fetching = new Map<string, Promise<boolean>>()

  /**
   * `objects` (cluster mode, ADR 0028): ingests put each package in the cluster's bucket before
   * they resolve, and a digest without a local tree is fetched from it, checked and extracted on
   * demand. Unreferenced packages stay in the bucket until `objectMinAgeMs` after they were last
   * stored (tests shorten it).
   */
  constructor(
    dataDir: string,
    limits: CodeStoreLimits = DEFAULT_CODE_LIMITS,
    objects?: CodeObjects,
    objectMinAgeMs = SHARED_PACKAGE_MIN_AGE_MS,
  ) {
    this.#objects = objects
    this.#objectMinAgeMs = objectMinAgeMs
    const root = path.join(dataDir, 'code')
    this.#packagesDir = path.join(root, 'packages')
    this.#treesDir = path.join(root, 'trees')
    this.#tmpDir = path.join(root, 'tmp')
    this.#limits = limits
    for (const dir of [this.#packagesDir, this.#treesDir, this.#tmpDir]) {
      fs.mkdirSync(dir, { recursive: true })
    }
    // Half-written trees of a crashed run (in tmp/) are removed by the first garbage collection,
    // which reports a tree it cannot remove instead of failing the start.
  }

  /**
   * Takes code from an API body: checks its size, turns inline source into a one-file zip,
   * extracts and checks the archive, and checks that the handler's module is in it. The digest
   * stays pinned (kept from garbage collection) until `release` or 10 minutes.
   */
  async ingest(
    input: CodeInput,
    family: RuntimeFamily,
    handler: string,
    options: IngestOptions = {},
  ): Promise<StoredCode> {
    if (codeFormatOf(family) === 'image') {
      return this.#ingestImage(input, options)
    }
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
    } else if (input.codeType === 'inline' && handlerModuleOf(family) === 'javaClass') {
      throw invalidCode(
        'Java code is a JAR or a ZIP of JARs or classes; inline source is not supported.',
      )
    } else if (input.codeType === 'inline') {
      if (input.bytes.length > this.#limits.inlineSourceMaxBytes) {
        throw new StratoError(
          'INLINE_CODE_TOO_LARGE',
          `The inline source is ${input.bytes.length} bytes; the limit is ${this.#limits.inlineSourceMaxBytes}. Upload a zip instead.`,
        )
      }
      const ext = SOURCE_EXTENSIONS[family][0] ?? ''
      codeFilename = `${modulePath}${ext}`
      // A handler file without an extension is an executable (a custom runtime's `bootstrap`).
      packageBytes = await zipSingleFile(codeFilename, input.bytes, ext === '')
      codeFilename = path.basename(codeFilename)
    } else {
      throw invalidCode(`code_type '${input.codeType}' needs a zip archive; this is not one.`)
    }
    const digest = await this.#store(packageBytes, options)
    try {
      await this.#checkHandlerModule(digest, family, modulePath, handler)
      await this.#share(digest, packageBytes)
      return {
        digest,
        codeSize: packageBytes.length,
        unzippedSize: await this.unzippedSize(digest),
        codeFilename,
        codeType: input.codeType,
      }
    } catch (err) {
      this.release(digest)
      throw err
    }
  }

  /** The handler's module is in the tree: a file, or for Java a class file or some JAR. */
  async #checkHandlerModule(
    digest: string,
    family: RuntimeFamily,
    modulePath: string,
    handler: string,
  ): Promise<void> {
    const tree = this.treePath(digest)
    const javaClass = handlerModuleOf(family) === 'javaClass'
    const file = javaClass ? modulePath.replaceAll('.', '/') : modulePath
    if (SOURCE_EXTENSIONS[family].some((ext) => fs.existsSync(path.join(tree, file + ext)))) {
      return
    }
    // A class inside a JAR is found by the guest's class loader; the store does not open JARs.
    if (javaClass) {
      const manifest = JSON.parse(await fsp.readFile(`${tree}.manifest.json`, 'utf8')) as Manifest
      if (manifest.files.some((f) => f[0].toLowerCase().endsWith('.jar'))) {
        return
      }
    }
    throw invalidCode(
      `The code has no ${SOURCE_EXTENSIONS[family].map((e) => `'${file}${e}'`).join(' or ')}${javaClass ? ' and no JAR' : ''} for the handler '${handler}'.`,
    )
  }

  /**
   * A Custom Image function's code: an image archive (docker save or OCI layout tar), stored like
   * a zip, its layers unpacked into one root file system (`image-archive.ts`).
   */
  async #ingestImage(input: CodeInput, options: IngestOptions): Promise<StoredCode> {
    if (!isTarArchive(input.bytes)) {
      throw invalidCode(
        "A Custom Image function's code is an image archive: the tar that 'docker save' or an OCI image layout writes (uncompressed); this is not a tar archive.",
      )
    }
    if (input.bytes.length > this.#limits.packageMaxBytes) {
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The image archive is ${input.bytes.length} bytes; the limit is ${this.#limits.packageMaxBytes}.`,
      )
    }
    const digest = await this.#store(input.bytes, options, 'image')
    await this.#shareOrRelease(digest, input.bytes)
    return {
      digest,
      codeSize: input.bytes.length,
      unzippedSize: await this.unzippedSize(digest),
      codeFilename: input.codeFilename ?? 'image.tar',
      codeType: input.codeType,
    }
  }

  /**
   * Takes a zip that is not function code (a dependency package): the same checks and limits,
   * no handler. Returns its digest and size; the digest is pinned as by `ingest`.
   */
  async ingestArchive(
    bytes: Buffer,
    options: IngestOptions = {},
  ): Promise<{ digest: string; size: number; unzippedSize: number }> {
    if (!isZip(bytes)) {
      throw invalidCode('The package is not a zip archive.')
    }
    if (bytes.length > this.#limits.packageMaxBytes) {
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The package is ${bytes.length} bytes; the limit is ${this.#limits.packageMaxBytes}.`,
      )
    }
    const digest = await this.#store(bytes, options)
    await this.#shareOrRelease(digest, bytes)
    return { digest, size: bytes.length, unzippedSize: await this.unzippedSize(digest) }
  }

  /**
   * Cluster mode: puts the package in the cluster's bucket, so that no row ever names a digest
   * the other nodes cannot fetch. Called once every check passed (refused code is never shared).
   */
  async #share(digest: string, bytes: Buffer): Promise<void> {
    if (this.#objects !== undefined) {
      await sharePackage(this.#objects, digest, bytes)
    }
  }

  async #shareOrRelease(digest: string, bytes: Buffer): Promise<void> {
    try {
      await this.#share(digest, bytes)
    } catch (err) {
      this.release(digest)
      throw err
    }
  }

  /**
   * Ends one ingest's hold on `digest`: the row that references it is written (or never will
   * be). A collection already running still spares it; later ones go by references alone.
   */
  release(digest: string): void {
    const pin = this.#pins.get(digest)
    if (pin !== undefined && pin.count > 0) {
      pin.count--
      pin.releasedAt = this.#collectionSeq
    }
  }

  #pin(digest: string): void {
    const pin = this.#pins.get(digest) ?? { count: 0, until: 0, releasedAt: -1 }
    pin.count++
    pin.until = Date.now() + PIN_AFTER_INGEST_MS
    this.#pins.set(digest, pin)
  }

  /** Pinned for collection number `seq`: held by an ingest, or released after `seq` began. */
  #isPinned(digest: string, seq: number, now: number): boolean {
    const pin = this.#pins.get(digest)
    return pin !== undefined && ((pin.count > 0 && pin.until >= now) || pin.releasedAt >= seq)
  }

  /** Stores a package under its digest (extracting it once) and pins it. */
  async #store(
    packageBytes: Buffer,
    options: IngestOptions,
    format: PackageFormat = 'zip',
  ): Promise<string> {
    const digest = sha512Hex(packageBytes)
    // Pinned in the same turn as the removal check below: a collection either sees the pin or
    // has already registered its removal, which this waits for before extracting afresh.
    this.#pin(digest)
    try {
      for (let busy = this.#busy(digest); busy !== undefined; busy = this.#busy(digest)) {
        await busy.catch(() => undefined)
      }
      if (!this.#isComplete(digest)) {
        const extraction = this.#extract(digest, packageBytes, options, format)
        this.#extracting.set(digest, extraction)
        try {
          await extraction
        } finally {
          this.#extracting.delete(digest)
        }
      }
    } catch (err) {
      this.release(digest)
      throw err
    }
    return digest
  }

  /**
   * An extraction or removal of `digest` running on this node. Callers loop on it without an
   * await once it is undefined, so their next check and registration happen in the same turn.
   */
  #busy(digest: string): Promise<unknown> | undefined {
    return this.#removing.get(digest) ?? this.#extracting.get(digest)
  }

  /** The package file is written last, so with it the tree and manifest are whole. */
  #isComplete(digest: string): boolean {
    const tree = this.treePath(digest)
    return (
      fs.existsSync(path.join(this.#packagesDir, `${digest}.zip`)) &&
      fs.existsSync(tree) &&
      fs.existsSync(`${tree}.manifest.json`)
    )
  }

  treePath(digest: string): string {
    return path.join(this.#treesDir, digest)
  }

  /** The stored package, for show-code. */
  async readPackage(digest: string): Promise<Buffer> {
    await this.#ensureLocal(digest)
    return fsp.readFile(path.join(this.#packagesDir, `${digest}.zip`))
  }

  /**
   * Whether `digest` is whole on this node, after fetching it from the cluster's bucket when it
   * is not (cluster mode). Concurrent calls for one digest share one fetch.
   */
  async #ensureLocal(digest: string): Promise<boolean> {
    if (this.#objects === undefined) {
      // Nothing to fetch from: callers find out what is missing as they always have.
      return true
    }
    for (let busy = this.#busy(digest); busy !== undefined; busy = this.#busy(digest)) {
      await busy.catch(() => undefined)
    }
    if (this.#isComplete(digest)) {
      return true
    }
    let fetching = this.#fetching.get(digest)
    if (fetching === undefined) {
      fetching = this.#fetch(digest, this.#objects).finally(() => this.#fetching.delete(digest))
      this.#fetching.set(digest, fetching)
    }
    return fetching
  }

  /**
   * Fetches a package, checks that it hashes to `digest` (CODE_INTEGRITY otherwise: nothing is
   * written), then extracts it with every check an ingest makes (limits, names, manifest). The
   * project's quota is not checked again: it was when the package was ingested.
   */
  async #fetch(digest: string, objects: CodeObjects): Promise<boolean> {
    const fetched = await fetchPackage(objects, digest, this.#limits.packageMaxBytes)
    if (fetched === undefined) {
      return false
    }
    // An ingest or a removal of the same digest may have begun on this node meanwhile.
    for (let busy = this.#busy(digest); busy !== undefined; busy = this.#busy(digest)) {
      await busy.catch(() => undefined)
    }
    // No await between this check and registering the extraction (as in #store).
    if (!this.#isComplete(digest)) {
      const extraction = this.#extract(digest, fetched.bytes, {}, fetched.format)
      this.#extracting.set(digest, extraction)
      try {
        await extraction
      } finally {
        this.#extracting.delete(digest)
      }
    }
    return true
  }

  /** Bytes of the files `digest` extracts to (0 when it is not stored). */
  async unzippedSize(digest: string): Promise<number> {
    const known = this.#unzippedSizes.get(digest)
    if (known !== undefined) {
      return known
    }
    if (!(await this.#ensureLocal(digest))) {
      return 0
    }
    let manifest: Manifest
    try {
      manifest = JSON.parse(
        await fsp.readFile(`${this.treePath(digest)}.manifest.json`, 'utf8'),
      ) as Manifest
    } catch {
      return 0
    }
    const size = manifest.unzippedBytes ?? manifest.files.reduce((sum, f) => sum + f[1], 0)
    this.#unzippedSizes.set(digest, size)
    return size
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
      throw integrityError(digest, why)
    }
    if (!(await this.#ensureLocal(digest))) {
      return fail("it is neither on this node nor in the cluster's object store")
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
    const links = new Map(manifest.symlinks ?? [])
    if (onDisk.length < manifest.files.length + links.size) {
      const present = new Set(onDisk)
      const missing = [...manifest.files.map((f) => f[0]), ...links.keys()].find(
        (rel) => !present.has(rel),
      )
      return fail(`'${missing ?? '?'}' is missing`)
    }
    for (const rel of onDisk) {
      const target = links.get(rel)
      if (target !== undefined) {
        const link = await fsp.lstat(path.join(tree, rel))
        if (!link.isSymbolicLink() || (await fsp.readlink(path.join(tree, rel))) !== target) {
          return fail(`the link '${rel}' changed`)
        }
        continue
      }
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
   * Removes packages and trees whose digest `referenced()` (called once the collection starts:
   * digests functions, versions and dependencies reference or live instances run) does not name
   * and no ingest holds, and, on the first run, half-written trees of a crashed run. A tree that
   * cannot be removed is reported in `failures` and skipped. Collections run one at a time.
   */
  collectGarbage(referenced: () => Promise<ReadonlySet<string>>): Promise<CodeCollection> {
    const run = this.#collecting.then(() => this.#collect(referenced))
    this.#collecting = run.catch(() => undefined)
    return run
  }

  async #collect(referenced: () => Promise<ReadonlySet<string>>): Promise<CodeCollection> {
    const seq = ++this.#collectionSeq
    const keep = await referenced()
    const now = Date.now()
    const failures: Array<{ what: string; error: unknown }> = []
    // A digest removed here, from the cluster's bucket, or both counts once.
    const removed = new Set<string>()
    if (!this.#tmpSwept) {
      this.#tmpSwept = true
      for (const name of await fsp.readdir(this.#tmpDir)) {
        if (!this.#staging.has(name)) {
          await removeTree(path.join(this.#tmpDir, name), this.#tmpDir).catch((error: unknown) =>
            failures.push({ what: `code/tmp/${name}`, error }),
          )
        }
      }
    }
    // A digest may have only some of its three parts (a crash, or a removal that failed).
    const digests = new Set<string>()
    for (const name of await fsp.readdir(this.#packagesDir)) {
      digests.add(name.replace(/\.zip$/, ''))
    }
    for (const name of await fsp.readdir(this.#treesDir)) {
      digests.add(name.replace(/\.manifest\.json$/, ''))
    }
    for (const digest of digests) {
      if (keep.has(digest) || this.#isPinned(digest, seq, now) || this.#extracting.has(digest)) {
        continue
      }
      const removal = this.#remove(digest)
      this.#removing.set(digest, removal)
      try {
        await removal
        removed.add(digest)
      } catch (error) {
        failures.push({ what: `code/trees/${digest.slice(0, 16)}…`, error })
      } finally {
        this.#removing.delete(digest)
      }
    }
    if (this.#objects !== undefined && isSwept(this.#objects)) {
      const held = (digest: string): boolean =>
        this.#isPinned(digest, seq, now) || this.#extracting.has(digest)
      const cutoff = now - this.#objectMinAgeMs
      await sweepObjects(this.#objects, keep, held, cutoff, removed, failures)
    }
    for (const [digest, pin] of this.#pins) {
      if ((pin.count === 0 && pin.releasedAt < seq) || pin.until < now) {
        this.#pins.delete(digest)
      }
    }
    return { removed: removed.size, failures }
  }

  /** Package first (it marks a digest complete), then manifest, then the tree, which may fail. */
  async #remove(digest: string): Promise<void> {
    this.#verified.delete(digest)
    this.#unzippedSizes.delete(digest)
    await fsp.rm(path.join(this.#packagesDir, `${digest}.zip`), { force: true })
    await fsp.rm(`${this.treePath(digest)}.manifest.json`, { force: true })
    await removeTree(this.treePath(digest), this.#tmpDir)
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
   * Checks the archive's central directory (entry count, names, declared sizes) before writing
   * anything, then extracts into a temporary dir and renames it into place, so a tree is either
   * whole or absent. While extracting, real bytes are counted again, since headers can lie.
   */
  async #extract(
    digest: string,
    bytes: Buffer,
    options: IngestOptions,
    format: PackageFormat,
  ): Promise<void> {
    if (format === 'zip') {
      await scanArchive(bytes, this.#limits, options)
    }
    const staging = await fsp.mkdtemp(path.join(this.#tmpDir, 'x-'))
    const stagingName = path.basename(staging)
    this.#staging.add(stagingName)
    try {
      let files: ManifestEntry[] = []
      let symlinks: Array<[string, string]> | undefined
      let unzippedBytes: number
      if (format === 'image') {
        const image = await unpackImage(staging, bytes, this.#limits, options)
        files = image.files
        symlinks = image.symlinks
        unzippedBytes = image.unpackedBytes
      } else {
        await unzipInto(staging, bytes, files, this.#limits, options)
        if (files.length === 0) {
          throw invalidCode('The code package is empty.')
        }
        unzippedBytes = files.reduce((sum, f) => sum + f[1], 0)
      }
      await this.#freeze(staging)
      const tree = this.treePath(digest)
      if (fs.existsSync(tree)) {
        // Left by a crash or by a removal that failed; no package file, so nothing uses it.
        await removeTree(tree, this.#tmpDir)
      }
      await fsp.rename(staging, tree)
      await fsp.writeFile(
        `${tree}.manifest.json`,
        JSON.stringify({
          files,
          unzippedBytes,
          ...(symlinks === undefined ? {} : { symlinks }),
        } satisfies Manifest),
      )
      const pkg = path.join(this.#packagesDir, `${digest}.zip`)
      await fsp.rm(pkg, { force: true })
      await fsp.writeFile(pkg, bytes, { mode: 0o444 })
      this.#unzippedSizes.set(digest, unzippedBytes)
    } catch (err) {
      await removeTree(staging, this.#tmpDir).catch(() => undefined)
      throw err
    } finally {
      this.#staging.delete(stagingName)
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
}
