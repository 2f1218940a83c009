/**
 * The CodeRepository contract: content-addressed packages and trees, checked on ingest and before
 * they run, pinned while an ingest's row is being written, collected once unreferenced.
 */
import fs from 'node:fs'
import path from 'node:path'
import yazl from 'yazl'
import { describe, expect, test } from 'vitest'
import { backendPerTest, storeCode, type OpenBackend } from './store-harness.js'

async function zip(files: Record<string, string>): Promise<Buffer> {
  const z = new yazl.ZipFile()
  for (const [name, content] of Object.entries(files)) {
    z.addBuffer(Buffer.from(content), name)
  }
  z.end()
  const chunks: Buffer[] = []
  for await (const c of z.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

const none = (): Promise<ReadonlySet<string>> => Promise.resolve(new Set<string>())

export function describeCodeRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`CodeRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('ingest stores a package under its SHA-512 and a verified tree; equal code, equal digest', async () => {
      const { repos } = await open()
      const bytes = await zip({ 'index.js': 'exports.handler = () => 1', 'lib/a.js': 'a' })
      const code = await repos.code.ingest(
        { codeType: 'zip', bytes, codeFilename: 'fn.zip' },
        'node',
        'index.handler',
      )
      expect(code).toMatchObject({ codeSize: bytes.length, codeType: 'zip' })
      expect(code.digest).toMatch(/^[0-9a-f]{128}$/)
      expect(code.unzippedSize).toBe('exports.handler = () => 1'.length + 1)
      expect(await repos.code.readPackage(code.digest)).toEqual(bytes)
      expect(await repos.code.unzippedSize(code.digest)).toBe(code.unzippedSize)
      const tree = await repos.code.verify(code.digest)
      expect(tree).toBe(repos.code.treePath(code.digest))
      expect(fs.readFileSync(path.join(tree, 'lib/a.js'), 'utf8')).toBe('a')
      const again = await repos.code.ingest(
        { codeType: 'zip', bytes, codeFilename: 'fn.zip' },
        'node',
        'index.handler',
      )
      expect(again.digest).toBe(code.digest)
      expect(await repos.code.unzippedSize('0'.repeat(128))).toBe(0)
    })

    test('ingest refuses what is not a zip, a package without the handler module, and the quota', async () => {
      const { repos } = await open()
      await expect(
        repos.code.ingest(
          { codeType: 'zip', bytes: Buffer.from('not a zip'), codeFilename: undefined },
          'node',
          'index.handler',
        ),
      ).rejects.toMatchObject({ code: 'INVALID_CODE' })
      await expect(
        repos.code.ingest(
          { codeType: 'zip', bytes: await zip({ 'other.js': 'x' }), codeFilename: undefined },
          'node',
          'index.handler',
        ),
      ).rejects.toMatchObject({ code: 'INVALID_CODE' })
      await expect(
        repos.code.ingest(
          {
            codeType: 'zip',
            bytes: await zip({ 'index.js': 'x'.repeat(1_000) }),
            codeFilename: undefined,
          },
          'node',
          'index.handler',
          { quota: { limitBytes: 1_000, usedBytes: 500 } },
        ),
      ).rejects.toMatchObject({ code: 'CODE_TOO_LARGE' })
      await expect(repos.code.ingestArchive(Buffer.from('nope'))).rejects.toMatchObject({
        code: 'INVALID_CODE',
      })
    })

    test('ingestArchive takes a zip without a handler (a dependency package)', async () => {
      const { repos } = await open()
      const bytes = await zip({ 'node_modules/dep/index.js': 'module.exports = 1' })
      const stored = await repos.code.ingestArchive(bytes)
      expect(stored).toMatchObject({
        size: bytes.length,
        unzippedSize: 'module.exports = 1'.length,
      })
      await repos.code.verify(stored.digest)
    })

    test('a changed tree is refused before it can run (CODE_INTEGRITY)', async () => {
      const { repos } = await open()
      const code = await storeCode(repos.code)
      const file = path.join(repos.code.treePath(code.digest), 'index.js')
      fs.chmodSync(file, 0o644)
      fs.appendFileSync(file, '\nprocess.exit(1)\n')
      await expect(repos.code.verify(code.digest)).rejects.toMatchObject({ code: 'CODE_INTEGRITY' })
    })

    test('collection spares pinned and referenced digests and removes the rest', async () => {
      const { repos } = await open()
      const kept = await storeCode(repos.code, 'exports.handler = () => "kept"\n')
      const pinned = await storeCode(repos.code, 'exports.handler = () => "pinned"\n')
      const dropped = await storeCode(repos.code, 'exports.handler = () => "dropped"\n')
      repos.code.release(kept.digest)
      repos.code.release(dropped.digest)
      const outcome = await repos.code.collectGarbage(() => Promise.resolve(new Set([kept.digest])))
      expect(outcome).toEqual({ removed: 1, failures: [] })
      await repos.code.verify(kept.digest)
      await repos.code.verify(pinned.digest)
      await expect(repos.code.verify(dropped.digest)).rejects.toMatchObject({
        code: 'CODE_INTEGRITY',
      })
      repos.code.release(pinned.digest)
      expect(await repos.code.collectGarbage(none)).toMatchObject({ removed: 2 })
    })
  })
}
