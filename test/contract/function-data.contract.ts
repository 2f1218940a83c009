/**
 * The contracts of what hangs off a function: async invoke configs (read for every async attempt,
 * so cached: a read after a write sees it), tags and test events.
 */
import { describe, expect, test } from 'vitest'
import type { AsyncInvokeConfigInput } from '../../src/core/index.js'
import { backendPerTest, createFunction, type OpenBackend } from './store-harness.js'

const config = (retries: number): AsyncInvokeConfigInput => ({
  maxAsyncEventAgeS: 60,
  maxAsyncRetryAttempts: retries,
  onSuccess: undefined,
  onFailure: { destination: 'FunctionGraph', param: '{"func_urn":"urn:x"}' },
  targetUrns: [],
  enableAsyncStatusLog: false,
})

export function describeFunctionDataContract(name: string, openBackend: OpenBackend): void {
  describe(`AsyncConfigRepository, TagRepository and TestEventRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('async configs: a miss, then put, replace (createdAt kept), delete: each read sees the last write', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      expect(await repos.asyncConfigs.get(fn.id, 'latest')).toBeUndefined() // a cached miss
      const put = await repos.asyncConfigs.put(fn.id, 'latest', config(1))
      expect(put).toMatchObject({
        functionId: fn.id,
        qualifier: 'latest',
        maxAsyncRetryAttempts: 1,
      })
      expect(put.onFailure).toEqual(config(1).onFailure)
      expect(await repos.asyncConfigs.get(fn.id, 'latest')).toEqual(put)
      const replaced = await repos.asyncConfigs.put(fn.id, 'latest', config(3))
      expect(replaced.createdAt).toEqual(put.createdAt)
      expect(await repos.asyncConfigs.get(fn.id, 'latest')).toEqual(replaced)
      await repos.asyncConfigs.put(fn.id, '!live', config(0))
      expect((await repos.asyncConfigs.listOf(fn.id)).map((c) => c.qualifier)).toEqual([
        '!live',
        'latest',
      ])
      expect(await repos.asyncConfigs.delete(fn.id, 'latest')).toBe(true)
      expect(await repos.asyncConfigs.delete(fn.id, 'latest')).toBe(false)
      expect(await repos.asyncConfigs.get(fn.id, 'latest')).toBeUndefined()
      await repos.asyncConfigs.deleteAllOf(fn.id)
      expect(await repos.asyncConfigs.get(fn.id, '!live')).toBeUndefined()
      expect(await repos.asyncConfigs.listOf(fn.id)).toEqual([])
    })

    test('async configs survive a restart', async () => {
      const backend = await open()
      const fn = await createFunction(backend.repos, 'fa')
      const put = await backend.repos.asyncConfigs.put(fn.id, 'v1', config(2))
      const reopened = await backend.reopen()
      expect(await reopened.asyncConfigs.get(fn.id, 'v1')).toEqual(put)
    })

    test('tags: put adds or overwrites, 20 at most; keysOf gathers values across functions', async () => {
      const { repos } = await open()
      const fa = await createFunction(repos, 'fa')
      const fb = await createFunction(repos, 'fb')
      await repos.tags.put(fa.id, [
        { key: 'team', value: 'a' },
        { key: 'env', value: 'dev' },
      ])
      await repos.tags.put(fa.id, [{ key: 'env', value: 'prod' }])
      await repos.tags.put(fb.id, [{ key: 'team', value: 'b' }])
      expect(await repos.tags.list(fa.id)).toEqual([
        { key: 'env', value: 'prod' },
        { key: 'team', value: 'a' },
      ])
      expect(await repos.tags.keysOf([fa.id, fb.id])).toEqual([
        { key: 'env', values: ['prod'] },
        { key: 'team', values: ['a', 'b'] },
      ])
      expect(await repos.tags.keysOf([])).toEqual([])
      const many = Array.from({ length: 19 }, (_, i) => ({ key: `k${i}`, value: 'v' }))
      await expect(repos.tags.put(fa.id, many)).rejects.toMatchObject({
        code: 'TAG_QUOTA_EXCEEDED',
      })
      expect(await repos.tags.list(fa.id)).toHaveLength(2) // nothing of the refused put
      await repos.tags.delete(fa.id, ['env', 'nope'])
      expect((await repos.tags.list(fa.id)).map((t) => t.key)).toEqual(['team'])
      await repos.tags.deleteAllOf(fa.id)
      expect(await repos.tags.list(fa.id)).toEqual([])
      expect(await repos.tags.list(fb.id)).toHaveLength(1)
    })

    test('test events: names are unique per function; update, delete, and not-found', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'fa')
      const created = await repos.testEvents.create(fn.id, 'ping', 'e30=')
      expect(created).toMatchObject({ function_id: fn.id, name: 'ping', content: 'e30=' })
      await expect(repos.testEvents.create(fn.id, 'ping', 'e30=')).rejects.toMatchObject({
        code: 'RESOURCE_EXISTS',
      })
      expect(await repos.testEvents.get(fn.id, created.id)).toEqual(created)
      const updated = await repos.testEvents.update(fn.id, created.id, 'bnVsbA==')
      expect(updated).toMatchObject({ id: created.id, content: 'bnVsbA==' })
      expect(await repos.testEvents.list(fn.id)).toEqual([updated])
      await repos.testEvents.delete(fn.id, created.id)
      await expect(repos.testEvents.get(fn.id, created.id)).rejects.toMatchObject({
        code: 'TEST_EVENT_NOT_FOUND',
      })
      await repos.testEvents.create(fn.id, 'a', 'e30=')
      await repos.testEvents.deleteAllOf(fn.id)
      expect(await repos.testEvents.list(fn.id)).toEqual([])
    })
  })
}
