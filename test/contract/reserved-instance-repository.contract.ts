/**
 * The ReservedInstanceRepository contract: one config per function version or alias, replaced in
 * place, listed per project and in all, kept across a restart, and gone with its function.
 */
import { describe, expect, test } from 'vitest'
import type { ReservedInstanceInput } from '../../src/core/index.js'
import { backendPerTest, createFunction, type OpenBackend } from './store-harness.js'

const THREE: ReservedInstanceInput = {
  count: 3,
  idleMode: false,
  cronPolicies: [
    { name: 'morning', cron: '0 0 8 * * ?', count: 5, startTime: 1_700_000_000, expiredTime: 0 },
  ],
  metricPolicies: [{ name: 'busy', type: 'Concurrency', threshold: 60, min: 1 }],
}

export function describeReservedInstanceRepositoryContract(
  name: string,
  openBackend: OpenBackend,
): void {
  describe(`ReservedInstanceRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('a config is stored per qualifier, replaced in place, and listed per project', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'reserved')
      const other = await createFunction(repos, 'elsewhere', { projectId: 'p2' })
      const target = {
        projectId: 'p1',
        functionId: fn.id,
        qualifierType: 'version' as const,
        qualifier: 'latest',
      }
      const stored = await repos.reservedInstances.put(target, THREE)
      expect(stored).toMatchObject({ ...target, ...THREE })
      expect(await repos.reservedInstances.get(fn.id, 'latest')).toMatchObject({ ...THREE })
      await repos.reservedInstances.put(
        { ...target, qualifierType: 'alias', qualifier: 'prod' },
        { ...THREE, count: 1, cronPolicies: [], metricPolicies: [] },
      )
      await repos.reservedInstances.put(target, { ...THREE, count: 2, idleMode: true })
      await repos.reservedInstances.put(
        { projectId: 'p2', functionId: other.id, qualifierType: 'version', qualifier: 'latest' },
        THREE,
      )
      const mine = await repos.reservedInstances.listOf('p1')
      expect(mine.map((c) => [c.qualifier, c.qualifierType, c.count, c.idleMode])).toEqual([
        ['latest', 'version', 2, true],
        ['prod', 'alias', 1, false],
      ])
      expect(await repos.reservedInstances.listAll()).toHaveLength(3)
      expect(await repos.reservedInstances.delete(fn.id, 'prod')).toBe(true)
      expect(await repos.reservedInstances.delete(fn.id, 'prod')).toBe(false)
      expect(await repos.reservedInstances.get(fn.id, 'prod')).toBeUndefined()
    })

    test('configs survive a restart; a deleted function takes its configs with it', async () => {
      const backend = await open()
      const fn = await createFunction(backend.repos, 'kept')
      await backend.repos.reservedInstances.put(
        { projectId: 'p1', functionId: fn.id, qualifierType: 'version', qualifier: 'latest' },
        THREE,
      )
      const repos = await backend.reopen()
      const [again] = await repos.reservedInstances.listAll()
      expect(again).toMatchObject({ functionId: fn.id, qualifier: 'latest', ...THREE })
      const latest = await repos.functions.getById('p1', fn.id)
      if (latest === undefined) {
        throw new Error('the function is gone after a restart')
      }
      await repos.functions.delete(latest)
      expect(await repos.reservedInstances.listAll()).toEqual([])
    })
  })
}
