/**
 * The VersionRepository and AliasRepository contract: published versions are immutable snapshots;
 * aliases route to them under the per-function rules.
 */
import { describe, expect, test } from 'vitest'
import { parseFunctionConfig, type FunctionRecord } from '../../src/core/index.js'
import {
  backendPerTest,
  createFunction,
  type OpenBackend,
  type Repositories,
} from './store-harness.js'

const alias = (name: string, version: string, weights: Record<string, number> = {}) => ({
  name,
  version,
  description: `${name} → ${version}`,
  weights,
  strategy: {},
})

/** Changes latest's memory so that it can be published again. */
async function change(
  repos: Repositories,
  fn: FunctionRecord,
  memory: number,
): Promise<FunctionRecord> {
  return repos.functions.updateConfig(
    fn,
    parseFunctionConfig({
      runtime: fn.runtime,
      handler: fn.handler,
      memory_size: memory,
      timeout: fn.timeoutS,
    }),
  )
}

export function describeVersionRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`VersionRepository and AliasRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('publish snapshots latest under the version name; the snapshot does not follow latest', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      const v1 = await repos.versions.publish(fn, 'v1', 'first')
      expect(v1).toMatchObject({ description: 'first' })
      expect(v1.fn).toMatchObject({
        id: fn.id,
        version: 'v1',
        memorySizeMb: 128,
        digest: fn.digest,
      })
      expect(v1.fn.createdAt).toEqual(fn.createdAt)
      await change(repos, fn, 256)
      expect(await repos.versions.get(fn, 'v1')).toEqual(v1)
      expect(await repos.versions.get(fn, 'v2')).toBeUndefined()
    })

    test('publish refuses a taken name, an unchanged latest, and versions past the quota', async () => {
      const { repos } = await open({ versionsPerFunction: 3 })
      let fn = await createFunction(repos, 'fa')
      await repos.versions.publish(fn, 'v1', '')
      fn = await change(repos, fn, 256)
      await expect(repos.versions.publish(fn, 'v1', '')).rejects.toMatchObject({
        code: 'VERSION_EXISTS',
      })
      await repos.versions.publish(fn, undefined, 'auto-named')
      await expect(repos.versions.publish(fn, 'v3', '')).rejects.toMatchObject({
        code: 'NOTHING_TO_PUBLISH',
      })
      fn = await change(repos, fn, 512)
      await expect(repos.versions.publish(fn, 'v3', '')).rejects.toMatchObject({
        code: 'VERSION_QUOTA_EXCEEDED',
      })
      const names = (await repos.versions.list(fn)).map((v) => v.fn.version)
      expect(names[0]).toBe('v1')
      expect(names[1]).toMatch(/^v\d{8}-\d{6}$/)
      expect(names).toHaveLength(2)
    })

    test('aliases: create, read, update, list, delete; create and update refuse by mode', async () => {
      const { repos } = await open()
      let fn = await createFunction(repos, 'fa')
      await repos.versions.publish(fn, 'v1', '')
      fn = await change(repos, fn, 256)
      await repos.versions.publish(fn, 'v2', '')
      const live = await repos.versions.putAlias(fn, alias('live', 'v1'), 'create')
      expect(live).toMatchObject({ name: 'live', version: 'v1', description: 'live → v1' })
      expect(await repos.versions.getAlias(fn, 'live')).toEqual(live)
      await expect(
        repos.versions.putAlias(fn, alias('live', 'v1'), 'create'),
      ).rejects.toMatchObject({ code: 'ALIAS_EXISTS' })
      await expect(
        repos.versions.putAlias(fn, alias('nope', 'v1'), 'update'),
      ).rejects.toMatchObject({ code: 'ALIAS_NOT_FOUND' })
      const moved = await repos.versions.putAlias(fn, alias('live', 'v2', { v1: 10 }), 'update')
      expect(await repos.versions.getAlias(fn, 'live')).toEqual(moved)
      expect(moved.weights).toEqual({ v1: 10 })
      await repos.versions.putAlias(fn, alias('old', 'v1'), 'create')
      expect((await repos.versions.listAliases(fn)).map((a) => a.name)).toEqual(['live', 'old'])
      await repos.versions.deleteAlias(fn, 'live')
      expect(await repos.versions.getAlias(fn, 'live')).toBeUndefined()
      expect((await repos.versions.listAliases(fn)).map((a) => a.name)).toEqual(['old'])
    })

    test('two aliases never share a main version; the alias quota holds', async () => {
      const { repos } = await open({ aliasesPerFunction: 2 })
      let fn = await createFunction(repos, 'fa')
      await repos.versions.publish(fn, 'v1', '')
      fn = await change(repos, fn, 256)
      await repos.versions.publish(fn, 'v2', '')
      await repos.versions.putAlias(fn, alias('a', 'v1'), 'create')
      await expect(repos.versions.putAlias(fn, alias('b', 'v1'), 'create')).rejects.toMatchObject({
        code: 'VERSION_HAS_ALIAS',
      })
      await repos.versions.putAlias(fn, alias('b', 'v2'), 'create')
      await expect(
        repos.versions.putAlias(fn, alias('c', 'latest'), 'create'),
      ).rejects.toMatchObject({ code: 'ALIAS_QUOTA_EXCEEDED' })
    })

    test('a version an alias routes to in any way cannot be deleted; others can', async () => {
      const { repos } = await open()
      let fn = await createFunction(repos, 'fa')
      for (const [v, memory] of [
        ['v1', 256],
        ['v2', 512],
        ['v3', 1024],
      ] as const) {
        await repos.versions.publish(fn, v, '')
        fn = await change(repos, fn, memory)
      }
      await repos.versions.putAlias(fn, alias('live', 'v1', { v2: 20 }), 'create')
      for (const v of ['v1', 'v2']) {
        await expect(repos.versions.deleteVersion(fn, v)).rejects.toMatchObject({
          code: 'VERSION_REFERENCED',
        })
      }
      await repos.versions.get(fn, 'v3')
      await repos.versions.deleteVersion(fn, 'v3')
      expect(await repos.versions.get(fn, 'v3')).toBeUndefined()
      expect((await repos.versions.list(fn)).map((v) => v.fn.version)).toEqual(['v1', 'v2'])
    })

    test('deleteAllOf removes every version and alias of one function only', async () => {
      const { repos } = await open()
      const fa = await createFunction(repos, 'fa')
      const fb = await createFunction(repos, 'fb', { source: 'exports.handler = () => "b"\n' })
      for (const fn of [fa, fb]) {
        await repos.versions.publish(fn, 'v1', '')
        await repos.versions.putAlias(fn, alias('live', 'v1'), 'create')
        await repos.versions.get(fn, 'v1')
        await repos.versions.getAlias(fn, 'live')
      }
      await repos.versions.deleteAllOf(fa)
      expect(await repos.versions.get(fa, 'v1')).toBeUndefined()
      expect(await repos.versions.getAlias(fa, 'live')).toBeUndefined()
      expect(await repos.versions.list(fa)).toEqual([])
      expect(await repos.versions.listAliases(fa)).toEqual([])
      expect(await repos.versions.get(fb, 'v1')).toBeDefined()
      expect(await repos.versions.getAlias(fb, 'live')).toBeDefined()
      expect(await repos.versions.referencedDigests()).toEqual(new Set([fb.digest]))
    })

    test('versions and aliases survive a restart', async () => {
      const backend = await open()
      const fn = await createFunction(backend.repos, 'fa')
      const v1 = await backend.repos.versions.publish(fn, 'v1', 'kept')
      const live = await backend.repos.versions.putAlias(fn, alias('live', 'v1'), 'create')
      const reopened = await backend.reopen()
      expect(await reopened.versions.get(fn, 'v1')).toEqual(v1)
      expect(await reopened.versions.getAlias(fn, 'live')).toEqual(live)
    })
  })
}
