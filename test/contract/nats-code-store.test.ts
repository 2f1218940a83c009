/**
 * The code store with the cluster's bucket (NatsCodeObjects on the NATS this machine runs, a
 * fresh prefix per test, the bucket deleted after): the code repository contract, and two nodes
 * (code stores in different temp dirs) sharing one bucket.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { connect, type NatsConnection } from 'nats'
import yazl from 'yazl'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { NatsCodeObjects } from '../../src/cluster/index.js'
import { Limits, type CodeObjects } from '../../src/core/index.js'
import { type SweptCodeObjects } from '../../src/store/code-store-shared.js'
import { CodeStore, DEFAULT_CODE_LIMITS } from '../../src/store/code-store.js'
import { openStore, type Store } from '../../src/store/index.js'
import { NATS_TEST_URL, uniqueName } from '../helpers/cluster-services.js'
import { buildImageArchive } from '../helpers/image-archive.js'
import { tmpDir } from '../helpers/strato.js'
import { describeCodeRepositoryContract } from './code-repository.contract.js'
import type { OpenBackend } from './store-harness.js'

let nc: NatsConnection
beforeAll(async () => {
  nc = await connect({ servers: NATS_TEST_URL })
})
afterAll(async () => {
  await nc.close()
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup()
  }
})

async function freshBucket(): Promise<NatsCodeObjects> {
  // The code store sweeps a bucket that has `list` and `deleteIfStoredBy`.
  const objects: NatsCodeObjects & SweptCodeObjects = await NatsCodeObjects.open(
    nc,
    uniqueName('codeobj'),
  )
  cleanups.push(() => objects.destroy())
  return objects
}

function freshDir(): string {
  const dir = tmpDir('strato-codeobj-')
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * The embedded store with its code repository replaced by one on the shared bucket. Unreferenced
 * packages leave the bucket at once here (no one-hour grace), so that the contract's "collection
 * removes the rest" holds for the cluster's copy too, not only for this node's cache.
 */
const openNatsCodeBackend: OpenBackend = async (quotas = {}) => {
  const dir = tmpDir('strato-codeobj-contract-')
  const objects = await NatsCodeObjects.open(nc, uniqueName('codeobj'))
  const open = async (): Promise<{ store: Store; code: CodeStore }> => {
    const q = { ...Limits.DEFAULT_QUOTAS, ...quotas }
    const store = await openStore({
      dataDir: path.join(dir, 'store'),
      quotas: q,
      onBackgroundError: (err) => {
        throw err
      },
      asyncQueue: { leaseGraceMs: 1_000, fsync: false },
    })
    const limits = {
      ...DEFAULT_CODE_LIMITS,
      packageMaxBytes: q.codePackageMaxBytes,
      unzippedMaxBytes: q.codeUnzippedMaxBytes,
    }
    return { store, code: new CodeStore(path.join(dir, 'node'), limits, objects, 0) }
  }
  let opened = await open()
  return {
    repos: { ...opened.store, code: opened.code },
    async reopen() {
      await opened.store.close()
      opened = await open()
      return { ...opened.store, code: opened.code }
    },
    async close() {
      await opened.store.close()
      await objects.destroy()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

describeCodeRepositoryContract('NATS object store', openNatsCodeBackend)

async function zip(
  files: Record<string, string | Buffer>,
  executable: readonly string[] = [],
): Promise<Buffer> {
  const z = new yazl.ZipFile()
  for (const [name, content] of Object.entries(files)) {
    z.addBuffer(Buffer.from(content), name, {
      mode: executable.includes(name) ? 0o100755 : 0o100644,
      compress: !Buffer.isBuffer(content),
    })
  }
  z.end()
  const chunks: Buffer[] = []
  for await (const c of z.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Every entry under `root`: kind, mode, content or link target. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`
      const full = path.join(root, r)
      const st = fs.lstatSync(full)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) {
        out[r] = `link ${fs.readlinkSync(full)}`
      } else if (st.isDirectory()) {
        out[r] = `dir ${mode}`
        walk(r)
      } else {
        out[r] = `file ${mode} ${fs.readFileSync(full).toString('base64')}`
      }
    }
  }
  walk('')
  return out
}

/** Counts fetches: the bucket itself is real. */
function counting(objects: CodeObjects): { objects: CodeObjects; gets: () => number } {
  let gets = 0
  return {
    objects: {
      put: (digest, bytes) => objects.put(digest, bytes),
      get: (digest) => {
        gets++
        return objects.get(digest)
      },
      delete: (digest) => objects.delete(digest),
    },
    gets: () => gets,
  }
}

/** Two nodes' code stores (own data dirs) sharing one fresh bucket. */
async function twoNodes(): Promise<{ a: CodeStore; b: CodeStore; objects: NatsCodeObjects }> {
  const objects = await freshBucket()
  return {
    objects,
    a: new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects),
    b: new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects),
  }
}

function codeDirOf(store: CodeStore, digest: string): string {
  return path.dirname(path.dirname(store.treePath(digest)))
}

describe('code packages shared through the NATS object store', () => {
  test('a package ingested on node A is fetched, checked and extracted on node B: the same tree, manifest and package', async () => {
    const { a, b } = await twoNodes()
    const bytes = await zip(
      {
        'index.js': 'exports.handler = () => 1',
        'lib/deep/a.js': 'a',
        'bin/tool': '#!/bin/sh\necho hi\n',
        'data.bin': randomBytes(4096),
      },
      ['bin/tool'],
    )
    const code = await a.ingest(
      { codeType: 'zip', bytes, codeFilename: 'fn.zip' },
      'node',
      'index.handler',
    )
    expect(fs.existsSync(b.treePath(code.digest))).toBe(false)
    const tree = await b.verify(code.digest)
    expect(tree).toBe(b.treePath(code.digest))
    expect(snapshot(tree)).toEqual(snapshot(a.treePath(code.digest)))
    expect(Object.keys(snapshot(tree))).toContain('lib/deep/a.js')
    expect(fs.readFileSync(`${tree}.manifest.json`, 'utf8')).toBe(
      fs.readFileSync(`${a.treePath(code.digest)}.manifest.json`, 'utf8'),
    )
    expect(await b.readPackage(code.digest)).toEqual(bytes)
    expect(await b.unzippedSize(code.digest)).toBe(code.unzippedSize)
  })

  test('readPackage and unzippedSize on a cold node fetch too; a digest the cluster lacks is 0 bytes and refused by verify', async () => {
    const { a, b } = await twoNodes()
    const dep = await zip({ 'node_modules/dep/index.js': 'module.exports = 1' })
    const stored = await a.ingestArchive(dep)
    expect(await b.unzippedSize(stored.digest)).toBe(stored.unzippedSize)
    expect(await b.readPackage(stored.digest)).toEqual(dep)
    // A node of another cluster (another bucket) has no such package.
    const other = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, await freshBucket())
    await expect(other.readPackage(stored.digest)).rejects.toThrow()
    expect(await other.unzippedSize(stored.digest)).toBe(0)
    await expect(other.verify(stored.digest)).rejects.toMatchObject({ code: 'CODE_INTEGRITY' })
  })

  test('a Custom Image ingested on A runs from the same root file system on B (links included)', async () => {
    const { a, b } = await twoNodes()
    const bytes = await buildImageArchive({
      layers: [
        [
          { name: 'bin/', type: 'directory' },
          { name: 'bin/server', content: '#!/bin/sh\n', mode: 0o755 },
          { name: 'bin/alias', type: 'symlink', linkname: 'server' },
          { name: 'etc/conf', content: 'x=1' },
        ],
        [{ name: 'etc/conf', content: 'x=2' }],
      ],
      config: { Entrypoint: ['/bin/server'], Cmd: [] },
    })
    const code = await a.ingest(
      { codeType: 'Custom-Image-Swr', bytes, codeFilename: undefined },
      'image',
      '-',
    )
    const tree = await b.verify(code.digest)
    expect(snapshot(tree)).toEqual(snapshot(a.treePath(code.digest)))
    expect(fs.readlinkSync(path.join(tree, 'bin/alias'))).toBe('server')
    expect(fs.readFileSync(path.join(tree, 'etc/conf'), 'utf8')).toBe('x=2')
  })

  test('a package altered in the bucket is refused on B (CODE_INTEGRITY) and nothing is installed', async () => {
    const { a, b, objects } = await twoNodes()
    const code = await a.ingest(
      {
        codeType: 'zip',
        bytes: await zip({ 'index.js': 'exports.handler = () => 1' }),
        codeFilename: undefined,
      },
      'node',
      'index.handler',
    )
    const evil = await zip({ 'index.js': 'exports.handler = () => process.exit(1)' })
    await objects.put(code.digest, evil)
    expect(await objects.get(code.digest)).toEqual(evil)
    await expect(b.verify(code.digest)).rejects.toMatchObject({ code: 'CODE_INTEGRITY' })
    await expect(b.unzippedSize(code.digest)).rejects.toMatchObject({ code: 'CODE_INTEGRITY' })
    const dir = codeDirOf(b, code.digest)
    for (const sub of ['packages', 'trees', 'tmp']) {
      expect(fs.readdirSync(path.join(dir, sub))).toEqual([])
    }
    // Ingesting the real package again repairs the cluster's copy.
    await a.ingest(
      {
        codeType: 'zip',
        bytes: await zip({ 'index.js': 'exports.handler = () => 1' }),
        codeFilename: undefined,
      },
      'node',
      'index.handler',
    )
    await b.verify(code.digest)
  })

  // Large buffers are compared with `equals`: vitest's deep equality walks them byte by byte.
  test('packages are plain object store objects: the library reads what put wrote, put reads what the library wrote', async () => {
    const objects = await freshBucket()
    const os = await nc.jetstream().views.os(objects.bucket)
    const big = randomBytes(1_300_000)
    await objects.put('a'.repeat(128), big)
    expect(Buffer.from((await os.getBlob('a'.repeat(128))) ?? []).equals(big)).toBe(true)
    await os.putBlob({ name: 'b'.repeat(128) }, big)
    expect((await objects.get('b'.repeat(128)))?.equals(big)).toBe(true)
    await objects.put('c'.repeat(128), Buffer.alloc(0))
    expect(await objects.get('c'.repeat(128))).toEqual(Buffer.alloc(0))
    // Two first uploads of one package at once leave one object and no stray chunks.
    await Promise.all([objects.put('d'.repeat(128), big), objects.put('d'.repeat(128), big)])
    expect((await objects.get('d'.repeat(128)))?.equals(big)).toBe(true)
    const status = await os.status()
    const perObject = (n: number): number => Math.ceil(n / (512 * 1024)) + 1
    expect(status.streamInfo.state.messages).toBe(
      perObject(big.length) * 2 + 1 + Math.ceil(big.length / (128 * 1024)) + 1,
    )
  })

  test('NATS unreachable: an ingest answers SERVICE_UNAVAILABLE and holds nothing; a cold verify too', async () => {
    const objects = await freshBucket()
    const a = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects)
    const stored = await a.ingestArchive(await zip({ 'x.txt': 'x' }))
    const lost = await connect({ servers: NATS_TEST_URL })
    const cut = await NatsCodeObjects.open(lost, objects.bucket.replace(/_code$/, ''))
    await lost.close()
    const b = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, cut)
    await expect(b.ingestArchive(await zip({ 'y.txt': 'y' }))).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    })
    await expect(b.verify(stored.digest)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
    // The refused ingest's pin is gone: its local tree is collected at once.
    expect(await b.collectGarbage(() => Promise.resolve(new Set<string>()))).toMatchObject({
      removed: 1,
    })
  })

  test('8 concurrent verifies of one digest on a cold node fetch it once', async () => {
    const objects = await freshBucket()
    const a = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects)
    const counted = counting(objects)
    const b = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, counted.objects)
    const code = await a.ingestArchive(await zip({ 'a.txt': randomBytes(200_000) }))
    const trees = await Promise.all(Array.from({ length: 8 }, () => b.verify(code.digest)))
    expect(new Set(trees)).toEqual(new Set([b.treePath(code.digest)]))
    expect(counted.gets()).toBe(1)
    await b.verify(code.digest)
    expect(counted.gets()).toBe(1)
  })

  test('collection: the bucket keeps referenced, pinned and recently stored packages; a put after the listing wins over the delete', async () => {
    const objects = await freshBucket()
    const a = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects)
    const kept = await a.ingestArchive(await zip({ 'kept.txt': 'k' }))
    const old = await a.ingestArchive(await zip({ 'old.txt': 'o' }))
    a.release(kept.digest)
    a.release(old.digest)
    // One hour of grace: nothing leaves the bucket yet, though this node's cache is emptied.
    const collected = await a.collectGarbage(() => Promise.resolve(new Set([kept.digest])))
    expect(collected).toEqual({ removed: 1, failures: [] })
    expect((await objects.list()).map((o) => o.digest).sort()).toEqual(
      [kept.digest, old.digest].sort(),
    )
    // A node whose grace is over deletes the unreferenced one only.
    const b = new CodeStore(freshDir(), DEFAULT_CODE_LIMITS, objects, 0)
    expect(await b.collectGarbage(() => Promise.resolve(new Set([kept.digest])))).toEqual({
      removed: 1,
      failures: [],
    })
    expect((await objects.list()).map((o) => o.digest)).toEqual([kept.digest])
    expect(await objects.get(old.digest)).toBeUndefined()
    // Fenced: a put between the collector's look and its delete keeps the package.
    const cutoff = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 5))
    await objects.put(kept.digest, await a.readPackage(kept.digest))
    expect(await objects.deleteIfStoredBy(kept.digest, cutoff)).toBe(false)
    expect(await objects.deleteIfStoredBy(kept.digest, Date.now())).toBe(true)
    expect(await objects.list()).toEqual([])
  })
})
