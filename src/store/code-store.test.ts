import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import yazl from 'yazl'
import { afterEach, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { CodeStore, DEFAULT_CODE_LIMITS } from './code-store.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true })
  }
})
function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'code-store-'))
  dirs.push(d)
  return d
}
async function zip(files: Record<string, string>): Promise<Buffer> {
  const z = new yazl.ZipFile()
  for (const [n, c] of Object.entries(files)) {
    z.addBuffer(Buffer.from(c), n)
  }
  z.end()
  const chunks: Buffer[] = []
  for await (const c of z.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

test('code store: inline source becomes a reproducible one-file package with the same digest every time', async () => {
  const store = new CodeStore(dataDir())
  const input = {
    codeType: 'inline' as const,
    bytes: Buffer.from('def handler(e, c):\n    return 1\n'),
    codeFilename: undefined,
  }
  const a = await store.ingest(input, 'python', 'main.handler')
  const b = await store.ingest(input, 'python', 'main.handler')
  expect(a.digest).toBe(b.digest)
  expect(a.codeFilename).toBe('main.py')
  expect(fs.readFileSync(path.join(await store.verify(a.digest), 'main.py'), 'utf8')).toContain(
    'return 1',
  )
})

test('code store: the tree is read-only and verify refuses a changed, added or removed file', async () => {
  const store = new CodeStore(dataDir())
  const code = await store.ingest(
    {
      codeType: 'zip',
      bytes: await zip({ 'index.js': 'x', 'lib/a.js': 'a' }),
      codeFilename: undefined,
    },
    'node',
    'index.handler',
  )
  const tree = await store.verify(code.digest)
  expect(fs.statSync(path.join(tree, 'index.js')).mode & 0o222).toBe(0)
  fs.chmodSync(path.join(tree, 'lib'), 0o755)
  fs.chmodSync(path.join(tree, 'lib/a.js'), 0o644)
  fs.writeFileSync(path.join(tree, 'lib/a.js'), 'b')
  await expect(store.verify(code.digest)).rejects.toThrow(/'lib\/a.js' changed content/)
  fs.writeFileSync(path.join(tree, 'lib/a.js'), 'a')
  await expect(store.verify(code.digest)).resolves.toBe(tree)
  fs.rmSync(path.join(tree, 'lib/a.js'))
  await expect(store.verify(code.digest)).rejects.toThrow(/'lib\/a.js' is missing/)
})

test('code store: garbage collection keeps referenced and freshly ingested code, removes the rest', async () => {
  const dir = dataDir()
  const first = new CodeStore(dir)
  const kept = await first.ingest(
    { codeType: 'zip', bytes: await zip({ 'index.js': 'kept' }), codeFilename: undefined },
    'node',
    'index.handler',
  )
  const dropped = await first.ingest(
    { codeType: 'zip', bytes: await zip({ 'index.js': 'dropped' }), codeFilename: undefined },
    'node',
    'index.handler',
  )
  // Just ingested: pinned, even though nothing references it yet.
  expect((await first.collectGarbage(() => Promise.resolve(new Set<string>()))).removed).toBe(0)
  // A new process (as after a restart) has no pins: only what is referenced survives.
  const second = new CodeStore(dir)
  expect(await second.collectGarbage(() => Promise.resolve(new Set([kept.digest])))).toEqual({
    removed: 1,
    failures: [],
  })
  await expect(second.verify(kept.digest)).resolves.toBeTruthy()
  await expect(second.verify(dropped.digest)).rejects.toBeInstanceOf(StratoError)
  expect(fs.existsSync(second.treePath(dropped.digest))).toBe(false)
})

/** A zip written by Python's zipfile, which (unlike yazl) takes any entry name. */
function pythonZip(names: string[], content = 'x'): Buffer {
  const script = `
import io, json, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    for name in json.loads(sys.stdin.read()):
        z.writestr(name, ${JSON.stringify(content)})
sys.stdout.buffer.write(buf.getvalue())
`
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(names) })
  if (r.status !== 0) {
    throw new Error(r.stderr.toString())
  }
  return r.stdout
}
const asZip = (bytes: Buffer) => ({ codeType: 'zip' as const, bytes, codeFilename: undefined })
/** The StratoError a call was refused with (fails the test if it was not refused). */
async function refusal(call: Promise<unknown>): Promise<StratoError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StratoError)
  return err as StratoError
}

/**
 * Builds `<parent>/<name>` nested `depth` dirs deep without ever naming a long path: each step
 * wraps the chain in a new dir beside it, so the tree can pass PATH_MAX as a hostile zip's did.
 */
function deepTree(parent: string, name: string, depth: number): void {
  const chain = path.join(parent, name)
  fs.mkdirSync(chain)
  fs.writeFileSync(path.join(chain, 'index.js'), 'x')
  for (let i = 0; i < depth; i++) {
    const wrap = path.join(parent, `${name}.wrap`)
    fs.mkdirSync(wrap)
    fs.renameSync(chain, path.join(wrap, 'directory'))
    fs.renameSync(wrap, chain)
  }
  fs.chmodSync(chain, 0o555)
}

test('code store: a package nesting past the depth, path or name limits is refused before anything is written, without a server path', async () => {
  const dir = dataDir()
  const store = new CodeStore(dir)
  const cases: Array<[string[], RegExp]> = [
    [
      ['index.js', `${'a/'.repeat(2000)}x.js`],
      /nests folders 2000 deep \('a\/a\/.*'\); the limit is 128\./,
    ],
    [
      ['index.js', `${'abcdefgh/'.repeat(120)}x.js`],
      /a path of 1084 bytes .*; the limit is 1024\./,
    ],
    [['index.js', `${'n'.repeat(300)}.js`], /a name of 303 bytes .*; the limit is 255\./],
    [['index.js', 'lib', 'lib/a.js'], /holds 'lib' as a file and as a folder/],
  ]
  for (const [names, message] of cases) {
    const err = await refusal(store.ingest(asZip(pythonZip(names)), 'node', 'index.handler'))
    expect(err.code).toBe('INVALID_CODE')
    expect(err.message).toMatch(message)
    expect(err.message).not.toContain(dir)
    expect(err.message.length).toBeLessThan(400)
  }
  expect(fs.readdirSync(path.join(dir, 'code', 'tmp'))).toEqual([])
  expect(fs.readdirSync(path.join(dir, 'code', 'trees'))).toEqual([])
  expect(fs.readdirSync(path.join(dir, 'code', 'packages'))).toEqual([])
})

test('code store: entry count and declared unzipped size are refused from the central directory, before extracting', async () => {
  const dir = dataDir()
  const store = new CodeStore(dir, {
    ...DEFAULT_CODE_LIMITS,
    maxEntries: 3,
    unzippedMaxBytes: 1000,
  })
  const many = await refusal(
    store.ingest(asZip(pythonZip(['index.js', 'a', 'b', 'c'])), 'node', 'index.handler'),
  )
  expect(many.message).toBe('The code package has 4 entries; the limit is 3.')
  // 600 + 600 declared: the second entry passes 1000 before a byte is written.
  const big = await refusal(
    store.ingest(asZip(pythonZip(['index.js', 'b.js'], 'y'.repeat(600))), 'node', 'index.handler'),
  )
  expect([big.code, big.message]).toEqual([
    'CODE_TOO_LARGE',
    'The code package declares at least 1200 bytes unzipped; the limit is 1000.',
  ])
  // The project's quota counts the zip and its unzipped files.
  const pkg = pythonZip(['index.js'], 'z'.repeat(500))
  const quota = await refusal(
    store.ingest(asZip(pkg), 'node', 'index.handler', {
      quota: { limitBytes: 10_000, usedBytes: 10_000 - pkg.length - 499 },
    }),
  )
  expect(quota.message).toMatch(
    /^The project's code would total at least 10001 bytes .*; the limit is 10000\.$/,
  )
  const fits = await store.ingest(asZip(pkg), 'node', 'index.handler', {
    quota: { limitBytes: 10_000, usedBytes: 10_000 - pkg.length - 500 },
  })
  expect([fits.codeSize, fits.unzippedSize]).toEqual([pkg.length, 500])
  expect(fs.readdirSync(path.join(dir, 'code', 'tmp'))).toEqual([])
})

test('code store: a central directory declaring a huge size is refused at once, nothing written', async () => {
  const dir = dataDir()
  const store = new CodeStore(dir)
  const pkg = await zip({ 'index.js': 'exports.handler = () => 1' })
  // Declare 3.75 GiB in the central directory record (uncompressed size at offset 24).
  const central = pkg.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
  pkg.writeUInt32LE(0xf000_0000, central + 24)
  const started = Date.now()
  const err = await refusal(store.ingest(asZip(pkg), 'node', 'index.handler'))
  expect(Date.now() - started).toBeLessThan(1000)
  expect([err.code, err.message]).toEqual([
    'CODE_TOO_LARGE',
    `The code package declares at least ${0xf000_0000} bytes unzipped; the limit is ${DEFAULT_CODE_LIMITS.unzippedMaxBytes}.`,
  ])
  expect(fs.readdirSync(path.join(dir, 'code', 'tmp'))).toEqual([])
})

test('code store: trees nested past PATH_MAX, left by an older run, are removed at the first collection', async () => {
  const dir = dataDir()
  fs.mkdirSync(path.join(dir, 'code', 'tmp'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'code', 'trees'), { recursive: true })
  const digest = 'f'.repeat(128)
  // 450 × 'directory/': 4500 bytes, past PATH_MAX.
  deepTree(path.join(dir, 'code', 'tmp'), 'x-old', 450)
  deepTree(path.join(dir, 'code', 'trees'), digest, 450)
  fs.writeFileSync(path.join(dir, 'code', 'trees', `${digest}.manifest.json`), '{"files":[]}')
  const store = new CodeStore(dir)
  expect(await store.collectGarbage(() => Promise.resolve(new Set<string>()))).toEqual({
    removed: 1,
    failures: [],
  })
  expect(fs.readdirSync(path.join(dir, 'code', 'tmp'))).toEqual([])
  expect(fs.readdirSync(path.join(dir, 'code', 'trees'))).toEqual([])
})

const canMakeImmutable = ((): boolean => {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'chattr-'))
  const ok = spawnSync('chattr', ['+i', probe]).status === 0
  spawnSync('chattr', ['-i', probe])
  fs.rmSync(probe, { recursive: true, force: true })
  return ok
})()

test.skipIf(!canMakeImmutable)(
  'code store: a tree that cannot be removed is reported and skipped; the rest is collected',
  async () => {
    const dir = dataDir()
    const first = new CodeStore(dir)
    const stuck = await first.ingest(
      asZip(await zip({ 'index.js': 'stuck' })),
      'node',
      'index.handler',
    )
    const other = await first.ingest(
      asZip(await zip({ 'index.js': 'other' })),
      'node',
      'index.handler',
    )
    const stuckFile = path.join(first.treePath(stuck.digest), 'index.js')
    expect(spawnSync('chattr', ['+i', stuckFile]).status).toBe(0)
    try {
      const outcome = await new CodeStore(dir).collectGarbage(() =>
        Promise.resolve(new Set<string>()),
      )
      expect(outcome.removed).toBe(1)
      expect(outcome.failures.map((f) => f.what)).toEqual([
        `code/trees/${stuck.digest.slice(0, 16)}…`,
      ])
      expect(fs.existsSync(first.treePath(other.digest))).toBe(false)
      // Its package file went first: the digest no longer counts as stored, so uploading it
      // again extracts afresh (here refused: the old tree is still in the way), never reuses it.
      expect(fs.existsSync(path.join(dir, 'code', 'packages', `${stuck.digest}.zip`))).toBe(false)
    } finally {
      spawnSync('chattr', ['-i', stuckFile])
    }
  },
)

test('code store: a package deleted while another upload of it is on its way is extracted again, not lost', async () => {
  const store = new CodeStore(dataDir())
  const pkg = await zip({ 'index.js': 'shared' })
  const first = await store.ingest(asZip(pkg), 'node', 'index.handler')
  store.release(first.digest)
  // The collection starts (nothing references the digest), and meanwhile the same zip comes in.
  const collection = store.collectGarbage(() => Promise.resolve(new Set<string>()))
  const again = store.ingest(asZip(pkg), 'node', 'index.handler')
  await collection
  const second = await again
  await expect(store.verify(second.digest)).resolves.toBe(store.treePath(first.digest))
  // Its pin holds until its row is written.
  expect((await store.collectGarbage(() => Promise.resolve(new Set<string>()))).removed).toBe(0)
  store.release(second.digest)
  expect((await store.collectGarbage(() => Promise.resolve(new Set<string>()))).removed).toBe(1)
})
