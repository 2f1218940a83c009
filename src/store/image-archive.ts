/**
 * @module Container image archives as the code store takes them for Custom Image functions: a tar
 * written by `docker save` (manifest.json) or an OCI image layout (index.json, blobs/). The layers
 * are applied in order into one root file system, honouring whiteouts (`.wh.<name>`) and opaque
 * folders (`.wh..wh..opq`), under the same limits as zips. Nothing is ever written through a
 * symbolic link: a layer path or a hard link that would pass through one is refused, so no entry
 * can land outside the tree, whatever the links inside the image point to (inside the sandbox,
 * the image is the root, so its absolute links point into itself).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import tarStream from 'tar-stream'
import { StratoError, type IngestOptions } from '../core/index.js'
import { invalidCode, type ManifestEntry } from './code-archive.js'
import type { CodeStoreLimits } from './code-store.js'

/** What the image says to run, as the guest reads it from `IMAGE_CONFIG_PATH` in its root. */
export interface ImageRunConfig {
  readonly entrypoint: readonly string[]
  readonly cmd: readonly string[]
  /** `NAME=value` strings, in the image's order. */
  readonly env: readonly string[]
  readonly workingDir: string
  readonly user: string
}

/** The tree an image unpacked to: its files, its symbolic links and what it runs. */
export interface UnpackedImage {
  readonly files: ManifestEntry[]
  readonly symlinks: Array<[rel: string, target: string]>
  /** Bytes of distinct files (hard links count once). */
  readonly unpackedBytes: number
  readonly config: ImageRunConfig
}

/** Strato's reserved folder at the image's root: the guest and the run config live there. */
export const IMAGE_RESERVED_DIR = '.strato'
/** The run config, relative to the image's root. */
export const IMAGE_CONFIG_PATH = `${IMAGE_RESERVED_DIR}/image.json`

const WHITEOUT = '.wh.'
const OPAQUE = '.wh..wh..opq'
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])
/** A tar header block plus the pax or GNU long-name blocks an entry may carry, at most. */
const TAR_BYTES_PER_ENTRY = 3 * 1024

/** A POSIX (ustar) tar: docker save and OCI layouts write one. */
export function isTarArchive(bytes: Buffer): boolean {
  return bytes.length >= 512 && bytes.toString('latin1', 257, 262) === 'ustar'
}

export function isGzip(bytes: Buffer): boolean {
  return bytes.subarray(0, 2).equals(GZIP_MAGIC)
}

function shown(name: string): string {
  return name.length <= 120 ? name : `${name.slice(0, 60)}…${name.slice(-40)}`
}

interface TarEntry {
  readonly name: string
  readonly type: tarStream.Header['type']
  readonly mode: number
  readonly linkname: string
  readonly body: Buffer
}

/** Every entry of a tar held in memory; `what` names it in errors. */
async function readTar(
  bytes: Buffer,
  what: string,
  maxEntries: number,
  tooMany: () => StratoError,
): Promise<TarEntry[]> {
  const extract = tarStream.extract()
  const entries: TarEntry[] = []
  const done = (async (): Promise<void> => {
    for await (const entry of extract) {
      if (entries.length >= maxEntries) {
        throw tooMany()
      }
      const chunks: Buffer[] = []
      for await (const chunk of entry) {
        chunks.push(chunk as Buffer)
      }
      entries.push({
        name: entry.header.name,
        type: entry.header.type ?? 'file',
        mode: entry.header.mode ?? 0o644,
        linkname: entry.header.linkname ?? '',
        body: Buffer.concat(chunks),
      })
    }
  })()
  extract.end(bytes)
  try {
    await done
  } catch (err) {
    if (err instanceof StratoError) {
      throw err
    }
    throw invalidCode(`The ${what} is not a readable tar archive: ${(err as Error).message}.`, err)
  }
  return entries
}

/** `./a/b/`, `/a/b` and `a/b` alike, as segments; refuses `..` and names past the limits. */
function segmentsOf(name: string, limits: CodeStoreLimits, what: string): string[] {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.some((s) => s === '..')) {
    throw invalidCode(`The ${what} entry '${shown(name)}' points outside the image's root.`)
  }
  if (segments.length > limits.pathMaxDepth + 1) {
    throw invalidCode(
      `The ${what} nests folders ${segments.length - 1} deep ('${shown(name)}'); the limit is ${limits.pathMaxDepth}.`,
    )
  }
  const rel = segments.join('/')
  if (Buffer.byteLength(rel) > limits.pathMaxBytes) {
    throw invalidCode(
      `The ${what} holds a path of ${Buffer.byteLength(rel)} bytes ('${shown(rel)}'); the limit is ${limits.pathMaxBytes}.`,
    )
  }
  const long = segments.find((s) => Buffer.byteLength(s) > limits.nameMaxBytes)
  if (long !== undefined) {
    throw invalidCode(
      `The ${what} holds a name of ${Buffer.byteLength(long)} bytes ('${shown(long)}'); the limit is ${limits.nameMaxBytes}.`,
    )
  }
  return segments
}

/** The image's layers (tar bytes, in order) and its config JSON, from docker save or OCI. */
interface ImageParts {
  readonly layers: Array<{ name: string; bytes: Buffer }>
  readonly config: Buffer
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown
  } catch (err) {
    throw invalidCode(`The image archive's ${what} is not valid JSON.`, err)
  }
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidCode(`The image archive's ${what} is not a JSON object.`)
  }
  return value as Record<string, unknown>
}

function locateImage(entries: readonly TarEntry[]): ImageParts {
  const files = new Map<string, Buffer>()
  for (const e of entries) {
    if (e.type === 'file' || e.type === 'contiguous-file') {
      files.set(
        e.name
          .split('/')
          .filter((s) => s !== '' && s !== '.')
          .join('/'),
        e.body,
      )
    }
  }
  const member = (name: string, why: string): Buffer => {
    const key = name
      .split('/')
      .filter((s) => s !== '' && s !== '.')
      .join('/')
    const bytes = files.get(key)
    if (bytes === undefined) {
      throw invalidCode(`The image archive names ${why} '${shown(name)}' but does not hold it.`)
    }
    return bytes
  }
  const manifestJson = files.get('manifest.json')
  if (manifestJson !== undefined) {
    // docker save: [{ Config, RepoTags, Layers }], one per image saved.
    const manifest = parseJson(manifestJson, 'manifest.json')
    if (!Array.isArray(manifest) || manifest.length === 0) {
      throw invalidCode("The image archive's manifest.json lists no image.")
    }
    if (manifest.length > 1) {
      throw invalidCode(
        `The image archive holds ${manifest.length} images; a function's code is one image (docker save one tag).`,
      )
    }
    const image = objectOf(manifest[0], 'manifest.json entry')
    const layers = image.Layers
    if (typeof image.Config !== 'string' || !Array.isArray(layers)) {
      throw invalidCode("The image archive's manifest.json entry has no Config or Layers.")
    }
    return {
      config: member(image.Config, 'the config'),
      layers: layers.map((l: unknown) => {
        if (typeof l !== 'string') {
          throw invalidCode("The image archive's manifest.json lists a layer that is not a path.")
        }
        return { name: l, bytes: member(l, 'the layer') }
      }),
    }
  }
  const indexJson = files.get('index.json')
  if (indexJson === undefined) {
    throw invalidCode(
      'The code is a tar archive but not a container image: it has neither manifest.json (docker save) nor index.json (OCI image layout).',
    )
  }
  // An OCI image layout: index.json → (index →) manifest → config and layers, by digest.
  const blob = (descriptor: unknown, why: string): Buffer => {
    const digest = objectOf(descriptor, why).digest
    if (typeof digest !== 'string' || !/^[a-z0-9]+:[a-f0-9]{32,}$/.test(digest)) {
      throw invalidCode(`The image archive's ${why} has no valid digest.`)
    }
    const [algorithm = '', hex = ''] = digest.split(':')
    const bytes = member(`blobs/${algorithm}/${hex}`, why)
    if (
      (algorithm === 'sha256' || algorithm === 'sha512') &&
      createHash(algorithm).update(bytes).digest('hex') !== hex
    ) {
      throw invalidCode(`The image archive's ${why} does not match its digest ${shown(digest)}.`)
    }
    return bytes
  }
  let node = objectOf(parseJson(indexJson, 'index.json'), 'index.json')
  for (let depth = 0; Array.isArray(node.manifests); depth++) {
    const manifests = node.manifests as unknown[]
    if (manifests.length === 0 || depth > 4) {
      throw invalidCode("The image archive's index.json lists no image manifest.")
    }
    const wanted = process.arch === 'arm64' ? 'arm64' : 'amd64'
    const chosen =
      manifests.find((m) => {
        const platform = objectOf(m, 'index entry').platform
        return (
          platform !== null &&
          typeof platform === 'object' &&
          (platform as Record<string, unknown>).architecture === wanted
        )
      }) ?? manifests[0]
    node = objectOf(parseJson(blob(chosen, 'image manifest'), 'image manifest'), 'image manifest')
  }
  const layers = node.layers
  if (!Array.isArray(layers)) {
    throw invalidCode("The image archive's image manifest has no layers.")
  }
  return {
    config: blob(node.config, 'image config'),
    layers: layers.map((l: unknown, i) => ({
      name: `layer ${i + 1}`,
      bytes: blob(l, `layer ${i + 1}`),
    })),
  }
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) {
    return []
  }
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidCode(`The image config's ${field} is not a list of strings.`)
  }
  return value as string[]
}

function parseRunConfig(bytes: Buffer): ImageRunConfig {
  const doc = objectOf(parseJson(bytes, 'image config'), 'image config')
  const arch = doc.architecture
  const host = process.arch === 'x64' ? 'amd64' : process.arch
  if (typeof arch === 'string' && arch !== '' && arch !== host) {
    throw invalidCode(`The image is built for ${arch}; this machine runs ${host} images.`)
  }
  const config =
    doc.config === undefined || doc.config === null ? {} : objectOf(doc.config, 'image config')
  const entrypoint = stringList(config.Entrypoint, 'Entrypoint')
  const cmd = stringList(config.Cmd, 'Cmd')
  if (entrypoint.length === 0 && cmd.length === 0) {
    throw invalidCode(
      'The image names no Entrypoint or Cmd: Strato runs the entrypoint, a web server on port 8000.',
    )
  }
  return {
    entrypoint,
    cmd,
    env: stringList(config.Env, 'Env'),
    workingDir: typeof config.WorkingDir === 'string' ? config.WorkingDir : '',
    user: typeof config.User === 'string' ? config.User : '',
  }
}

/**
 * The host path of `segments` under `root`, checking that every folder on the way is a real
 * folder (created when `create` and absent): never a symbolic link, which would lead elsewhere
 * on the host. Returns undefined when a folder is absent and not created.
 */
async function realParent(
  root: string,
  segments: readonly string[],
  name: string,
  create: boolean,
): Promise<string | undefined> {
  let dir = root
  for (const segment of segments.slice(0, -1)) {
    dir = path.join(dir, segment)
    const st = await fsp.lstat(dir).catch(() => undefined)
    if (st === undefined) {
      if (!create) {
        return undefined
      }
      await fsp.mkdir(dir, { mode: 0o755 })
    } else if (st.isSymbolicLink()) {
      throw invalidCode(
        `The image layer entry '${shown(name)}' leads through the symbolic link '${shown(path.relative(root, dir))}'; Strato does not write through links while unpacking.`,
      )
    } else if (!st.isDirectory()) {
      throw invalidCode(
        `The image layer entry '${shown(name)}' is below '${shown(path.relative(root, dir))}', which a lower layer made a file.`,
      )
    }
  }
  return path.join(dir, segments.at(-1) ?? '')
}

/** Removes whatever is at `target` (a link itself, never what it points to). */
async function removeEntry(target: string): Promise<void> {
  await fsp.rm(target, { recursive: true, force: true })
}

/** Reads an entry's remaining bytes and drops them. */
async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of entry) {
    void chunk
  }
}

/**
 * Applies an image's layers in one streaming pass each, counting what they write against the
 * limits. A whiteout or opaque marker hides only lower layers' files: whatever this layer wrote
 * (or holds a path of) is remembered and spared, wherever the marker falls in the layer's order.
 */
class LayerApplier {
  readonly #root: string
  readonly #limits: CodeStoreLimits
  readonly #options: IngestOptions
  readonly #packageBytes: number
  #entries = 0
  #written = 0
  /** Paths the current layer wrote, and every folder above them. */
  #mine = new Set<string>()

  constructor(root: string, limits: CodeStoreLimits, options: IngestOptions, packageBytes: number) {
    this.#root = root
    this.#limits = limits
    this.#options = options
    this.#packageBytes = packageBytes
  }

  #count(bytes: number): void {
    this.#written += bytes
    if (this.#written > this.#limits.unzippedMaxBytes) {
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The image unpacks to more than ${this.#limits.unzippedMaxBytes} bytes, the limit.`,
      )
    }
    const quota = this.#options.quota
    if (
      quota !== undefined &&
      quota.usedBytes + this.#packageBytes + this.#written > quota.limitBytes
    ) {
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The project's code would total at least ${quota.usedBytes + this.#packageBytes + this.#written} bytes (packages and unpacked files); the limit is ${quota.limitBytes}.`,
      )
    }
  }

  /** Applies one layer tar, read from `source` (already decompressed). */
  async apply(layerName: string, source: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    const what = `image layer '${shown(layerName)}'`
    this.#mine = new Set()
    const extract = tarStream.extract()
    const input = Readable.from(source)
    let sourceError: unknown
    input.on('error', (err: Error) => {
      sourceError = err
      extract.destroy(err)
    })
    input.pipe(extract)
    try {
      for await (const entry of extract) {
        this.#entries++
        if (this.#entries > this.#limits.maxEntries) {
          throw invalidCode(
            `The image has more than ${this.#limits.maxEntries} entries in its layers; the limit is ${this.#limits.maxEntries}.`,
          )
        }
        await this.#entry(entry, what)
      }
    } catch (caught) {
      extract.destroy()
      // A source that failed (a gzip bomb, bad gzip) ends the entry being read: its reason wins.
      const err = sourceError ?? caught
      if (err instanceof StratoError) {
        throw err
      }
      throw invalidCode(
        `The ${what} is not a readable tar archive: ${(err as Error).message}.`,
        err,
      )
    } finally {
      input.unpipe()
      input.destroy()
    }
  }

  async #entry(
    entry: AsyncIterable<unknown> & { header: tarStream.Header },
    what: string,
  ): Promise<void> {
    const header = entry.header
    const segments = segmentsOf(header.name, this.#limits, what)
    if (segments.length === 0) {
      await drain(entry)
      return // the root folder itself
    }
    if (segments[0] === IMAGE_RESERVED_DIR) {
      throw invalidCode(
        `The ${what} writes '/${shown(segments.join('/'))}'; /${IMAGE_RESERVED_DIR} is reserved for Strato's runtime.`,
      )
    }
    const base = segments.at(-1) ?? ''
    if (base === OPAQUE) {
      await drain(entry)
      const folder = segments.slice(0, -1)
      const dir = await realParent(this.#root, [...folder, OPAQUE], header.name, false)
      if (dir !== undefined) {
        await this.#removeLower(folder)
      }
      return
    }
    if (base.startsWith(WHITEOUT)) {
      await drain(entry)
      const hidden = [...segments.slice(0, -1), base.slice(WHITEOUT.length)]
      if (!this.#mine.has(hidden.join('/'))) {
        const target = await realParent(this.#root, hidden, header.name, false)
        if (target !== undefined) {
          await removeEntry(target)
        }
      }
      return
    }
    for (let i = 1; i <= segments.length; i++) {
      this.#mine.add(segments.slice(0, i).join('/'))
    }
    await this.#write(entry, segments, what)
  }

  /** Removes what lower layers left under `folder` (an opaque folder), sparing this layer's own. */
  async #removeLower(folder: readonly string[]): Promise<void> {
    const dir = path.join(this.#root, ...folder)
    const st = await fsp.lstat(dir).catch(() => undefined)
    if (st?.isDirectory() !== true) {
      return
    }
    for (const child of await fsp.readdir(dir)) {
      const rel = [...folder, child]
      if (!this.#mine.has(rel.join('/'))) {
        await removeEntry(path.join(dir, child))
      } else {
        await this.#removeLower(rel)
      }
    }
  }

  async #write(
    entry: AsyncIterable<unknown> & { header: tarStream.Header },
    segments: string[],
    what: string,
  ): Promise<void> {
    const header = entry.header
    const target = await realParent(this.#root, segments, header.name, true)
    if (target === undefined) {
      await drain(entry)
      return
    }
    const existing = await fsp.lstat(target).catch(() => undefined)
    switch (header.type) {
      case 'directory':
        await drain(entry)
        if (existing?.isDirectory() !== true) {
          if (existing !== undefined) {
            await removeEntry(target)
          }
          await fsp.mkdir(target, { mode: 0o755 })
        }
        return
      case 'file':
      case 'contiguous-file': {
        if (existing !== undefined) {
          await removeEntry(target)
        }
        // As for zips: readable by the function's uid, executable where any x bit was set, never
        // set-id, never writable (the tree is shared by every instance).
        const file = await fsp.open(target, 'wx', (header.mode & 0o111) !== 0 ? 0o555 : 0o444)
        try {
          for await (const chunk of entry) {
            const bytes = chunk as Buffer
            this.#count(bytes.length)
            await file.write(bytes)
          }
        } finally {
          await file.close()
        }
        return
      }
      case 'symlink': {
        await drain(entry)
        const linkname = header.linkname
        if (linkname === '' || Buffer.byteLength(linkname) > this.#limits.pathMaxBytes) {
          throw invalidCode(
            `The ${what} holds the symbolic link '${shown(header.name)}' with an empty or overlong target.`,
          )
        }
        if (existing !== undefined) {
          await removeEntry(target)
        }
        await fsp.symlink(linkname, target)
        return
      }
      case 'link': {
        await drain(entry)
        // A hard link names another path of the image: it must be a file already unpacked,
        // reached through real folders only (a link to a host file would share its inode).
        const from = segmentsOf(header.linkname, this.#limits, what)
        const source =
          from.length === 0 ? undefined : await realParent(this.#root, from, header.name, false)
        const st = source === undefined ? undefined : await fsp.lstat(source).catch(() => undefined)
        if (source === undefined || st?.isFile() !== true) {
          throw invalidCode(
            `The ${what} holds the hard link '${shown(header.name)}' to '${shown(header.linkname)}', which is not a file of the image.`,
          )
        }
        if (existing !== undefined) {
          if (existing.ino === st.ino) {
            return
          }
          await removeEntry(target)
        }
        await fsp.link(source, target)
        return
      }
      case 'block-device':
      case 'character-device':
      case 'fifo':
        // The sandbox mounts its own /dev; nothing else in an image needs them.
        await drain(entry)
        return
    }
  }
}

/**
 * A layer's tar bytes as a stream: decompressed when gzip, and never past what the limits could
 * store (a small gzip can inflate to far more than it holds).
 */
function layerStream(
  layer: { name: string; bytes: Buffer },
  limits: CodeStoreLimits,
): Iterable<Buffer> | AsyncIterable<Buffer> {
  if (layer.bytes.subarray(0, 4).equals(ZSTD_MAGIC)) {
    throw invalidCode(
      `The image's ${shown(layer.name)} is zstd-compressed; Strato reads uncompressed and gzip layers.`,
    )
  }
  if (!isGzip(layer.bytes)) {
    return [layer.bytes]
  }
  const most = limits.unzippedMaxBytes + limits.maxEntries * TAR_BYTES_PER_ENTRY
  const gunzip = zlib.createGunzip()
  gunzip.end(layer.bytes)
  return (async function* inflate(): AsyncGenerator<Buffer> {
    let total = 0
    try {
      for await (const chunk of gunzip) {
        total += (chunk as Buffer).length
        if (total > most) {
          throw new StratoError(
            'CODE_TOO_LARGE',
            `The image's ${shown(layer.name)} decompresses past the ${limits.unzippedMaxBytes}-byte limit.`,
          )
        }
        yield chunk as Buffer
      }
    } catch (err) {
      if (err instanceof StratoError) {
        throw err
      }
      throw invalidCode(`The image's ${shown(layer.name)} is not valid gzip.`, err)
    } finally {
      gunzip.destroy()
    }
  })()
}

/** Every file and link of the unpacked tree, hashed, in the code store's manifest shape. */
async function inventory(
  root: string,
): Promise<Pick<UnpackedImage, 'files' | 'symlinks' | 'unpackedBytes'>> {
  const files: ManifestEntry[] = []
  const symlinks: Array<[string, string]> = []
  const inodes = new Set<number>()
  let unpackedBytes = 0
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      const full = path.join(root, r)
      if (e.isDirectory()) {
        await walk(r)
      } else if (e.isSymbolicLink()) {
        symlinks.push([r, await fsp.readlink(full)])
      } else if (e.isFile()) {
        const st = await fsp.lstat(full)
        const content = await fsp.readFile(full)
        if (!inodes.has(st.ino)) {
          inodes.add(st.ino)
          unpackedBytes += st.size
        }
        files.push([
          r,
          st.size,
          createHash('sha256').update(content).digest('hex'),
          (st.mode & 0o111) !== 0,
        ])
      }
    }
  }
  await walk('')
  return { files, symlinks, unpackedBytes }
}

/**
 * Unpacks the image archive `bytes` into the empty folder `dest`: its layers in order, then its
 * run config at `IMAGE_CONFIG_PATH`. Refuses (INVALID_CODE, CODE_TOO_LARGE) what is not an image,
 * is malformed, escapes the tree or passes the limits; `dest` is then the caller's to remove.
 */
export async function unpackImage(
  dest: string,
  bytes: Buffer,
  limits: CodeStoreLimits,
  options: IngestOptions,
): Promise<UnpackedImage> {
  const parts = locateImage(
    await readTar(bytes, 'image archive', limits.maxEntries, () =>
      invalidCode(
        `The image archive has more than ${limits.maxEntries} entries; the limit is ${limits.maxEntries}.`,
      ),
    ),
  )
  const config = parseRunConfig(parts.config)
  const applier = new LayerApplier(dest, limits, options, bytes.length)
  for (const layer of parts.layers) {
    await applier.apply(layer.name, layerStream(layer, limits))
  }
  await fsp.mkdir(path.join(dest, IMAGE_RESERVED_DIR), { mode: 0o755 })
  fs.writeFileSync(path.join(dest, IMAGE_CONFIG_PATH), JSON.stringify(config), { mode: 0o444 })
  return { ...(await inventory(dest)), config }
}
