import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import yazl from 'yazl'
import { afterEach, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { CodeStore } from './code-store.js'

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
  expect(await first.collectGarbage(new Set())).toBe(0)
  // A new process (as after a restart) has no pins: only what is referenced survives.
  const second = new CodeStore(dir)
  expect(await second.collectGarbage(new Set([kept.digest]))).toBe(1)
  await expect(second.verify(kept.digest)).resolves.toBeTruthy()
  await expect(second.verify(dropped.digest)).rejects.toBeInstanceOf(StratoError)
  expect(fs.existsSync(second.treePath(dropped.digest))).toBe(false)
})
