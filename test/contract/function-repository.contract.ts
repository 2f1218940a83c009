/**
 * The FunctionRepository contract: what every backend's function repository must do, caching
 * included (a read after any write sees the write).
 */
import { describe, expect, test } from 'vitest'
import { parseFunctionConfig } from '../../src/core/index.js'
import { backendPerTest, createFunction, storeCode, type OpenBackend } from './store-harness.js'

export function describeFunctionRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`FunctionRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('create stores revision 1 as latest; get and getById read it back, within its project only', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      expect(fn).toMatchObject({
        projectId: 'p1',
        packageName: 'default',
        name: 'fa',
        runtime: 'Node.js20.15',
        revision: 1,
        version: 'latest',
      })
      expect(fn.id).not.toBe('')
      expect(await repos.functions.get('p1', 'default', 'fa')).toEqual(fn)
      expect(await repos.functions.getById('p1', fn.id)).toEqual(fn)
      expect(await repos.functions.get('p2', 'default', 'fa')).toBeUndefined()
      expect(await repos.functions.getById('p2', fn.id)).toBeUndefined()
      expect(await repos.functions.get('p1', 'other', 'fa')).toBeUndefined()
    })

    test('a taken name is FUNCTION_EXISTS; the quota is FUNCTION_QUOTA_EXCEEDED, per project', async () => {
      const { repos } = await open({ functionsPerProject: 2 })
      await createFunction(repos, 'fa')
      await expect(createFunction(repos, 'fa')).rejects.toMatchObject({ code: 'FUNCTION_EXISTS' })
      await createFunction(repos, 'fb')
      await expect(createFunction(repos, 'fc')).rejects.toMatchObject({
        code: 'FUNCTION_QUOTA_EXCEEDED',
      })
      await createFunction(repos, 'fc', { projectId: 'p2' })
      expect(await repos.functions.count('p1')).toBe(2)
      expect(await repos.functions.count('p2')).toBe(1)
    })

    test('concurrent creates of one name store one function', async () => {
      const { repos } = await open()
      const results = await Promise.allSettled([
        createFunction(repos, 'same'),
        createFunction(repos, 'same'),
        createFunction(repos, 'same'),
      ])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      expect(await repos.functions.count('p1')).toBe(1)
    })

    test('updates bump the revision and are what the next get returns (the cache follows writes)', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      expect(await repos.functions.get('p1', 'default', 'fa')).toEqual(fn) // cached now
      const configured = await repos.functions.updateConfig(
        fn,
        parseFunctionConfig({
          runtime: 'Node.js20.15',
          handler: 'index.handler',
          memory_size: 256,
          timeout: 9,
          description: 'changed',
        }),
      )
      expect(configured).toMatchObject({ revision: 2, memorySizeMb: 256, timeoutS: 9 })
      expect(await repos.functions.get('p1', 'default', 'fa')).toEqual(configured)
      const code = await storeCode(repos.code, 'exports.handler = () => 2\n')
      const recoded = await repos.functions.updateCode(configured, code)
      expect(recoded).toMatchObject({ revision: 3, digest: code.digest, memorySizeMb: 256 })
      expect(await repos.functions.get('p1', 'default', 'fa')).toEqual(recoded)
      expect(await repos.functions.getById('p1', fn.id)).toEqual(recoded)
    })

    test('two updates from the same read get different revisions (pools are keyed by revision)', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      const config = (memory: number): ReturnType<typeof parseFunctionConfig> =>
        parseFunctionConfig({
          runtime: 'Node.js20.15',
          handler: 'index.handler',
          memory_size: memory,
          timeout: 9,
        })
      const [a, b] = await Promise.all([
        repos.functions.updateConfig(fn, config(256)),
        repos.functions.updateConfig(fn, config(512)),
      ])
      expect(new Set([a.revision, b.revision])).toEqual(new Set([2, 3]))
      expect((await repos.functions.get('p1', 'default', 'fa'))?.revision).toBe(3)
    })

    test('a deleted function is gone from every read; its name can be used again', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      await repos.functions.get('p1', 'default', 'fa')
      await repos.functions.delete(fn)
      expect(await repos.functions.get('p1', 'default', 'fa')).toBeUndefined()
      expect(await repos.functions.getById('p1', fn.id)).toBeUndefined()
      expect(await repos.functions.count('p1')).toBe(0)
      await expect(repos.functions.updateConfig(fn, fn)).rejects.toMatchObject({
        code: 'FUNCTION_NOT_FOUND',
      })
      const again = await createFunction(repos, 'fa')
      expect(again.id).not.toBe(fn.id)
    })

    test('list pages in creation order, filters by package and name substring, and counts all', async () => {
      const { repos } = await open()
      for (const n of ['alpha', 'beta', 'alphabet', 'gamma']) {
        await createFunction(repos, n)
      }
      await createFunction(repos, 'alpha', { packageName: 'pkg' })
      await createFunction(repos, 'alpha', { projectId: 'p2' })
      const first = await repos.functions.list('p1', { marker: 0, maxItems: 2 })
      expect(first.functions.map((f) => f.name)).toEqual(['alpha', 'beta'])
      expect(first).toMatchObject({ nextMarker: 2, count: 5 })
      const rest = await repos.functions.list('p1', { marker: 2, maxItems: 10 })
      expect(rest.functions.map((f) => `${f.packageName}:${f.name}`)).toEqual([
        'default:alphabet',
        'default:gamma',
        'pkg:alpha',
      ])
      expect(rest.nextMarker).toBe(5)
      const named = await repos.functions.list('p1', {
        marker: 0,
        maxItems: 10,
        nameContains: 'pha',
      })
      expect(named.functions.map((f) => f.name)).toEqual(['alpha', 'alphabet', 'alpha'])
      const inPkg = await repos.functions.list('p1', {
        marker: 0,
        maxItems: 10,
        packageName: 'pkg',
      })
      expect(inPkg).toMatchObject({ count: 1 })
      // LIKE wildcards in the filter are literal characters.
      const wild = await repos.functions.list('p1', { marker: 0, maxItems: 10, nameContains: '%' })
      expect(wild.count).toBe(0)
    })

    test('code sizes count zips and unzipped files; referencedDigests names every function digest, runtimesInUse every runtime', async () => {
      const { repos } = await open()
      const a = await createFunction(repos, 'fa', { source: 'exports.handler = () => "a"\n' })
      const b = await createFunction(repos, 'fb', { source: 'exports.handler = () => "bb"\n' })
      const sizeOf = async (digest: string, zip: number): Promise<number> =>
        zip + (await repos.code.unzippedSize(digest))
      expect(await repos.functions.storedCodeSize(a)).toBe(await sizeOf(a.digest, a.codeSize))
      expect(await repos.functions.totalCodeSize('p1')).toBe(
        (await sizeOf(a.digest, a.codeSize)) + (await sizeOf(b.digest, b.codeSize)),
      )
      expect(await repos.functions.totalCodeSize('p2')).toBe(0)
      expect(await repos.functions.referencedDigests()).toEqual(new Set([a.digest, b.digest]))
      // Runtimes of every project, each once.
      await createFunction(repos, 'fc', { projectId: 'p2' })
      expect(await repos.functions.runtimesInUse()).toEqual(new Set(['Node.js20.15']))
    })

    test('functions survive a restart', async () => {
      const backend = await open()
      const fn = await createFunction(backend.repos, 'fa')
      const reopened = await backend.reopen()
      expect(await reopened.functions.get('p1', 'default', 'fa')).toEqual(fn)
    })
  })
}
