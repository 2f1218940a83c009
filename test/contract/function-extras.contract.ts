/**
 * The contract of the smaller per-function and per-project tables: function applications (unique
 * names per project, updates of status and members, pages, counts by template), collected functions, snapshot start switches
 * (both go with their function) and VPC endpoints (put replaces, delete tells whether one went).
 */
import { describe, expect, test } from 'vitest'
import type { FunctionApp } from '../../src/core/index.js'
import type { Store } from '../../src/store/index.js'
import {
  backendPerTest,
  createFunction,
  type OpenBackend,
  type Repositories,
} from './store-harness.js'

/** What these tables need beyond `Repositories` (the whole `Store` holds them). */
type WithExtras = Repositories & Pick<Store, 'apps' | 'collected' | 'snapshots' | 'vpcEndpoints'>

function app(id: string, name: string, templateId = 'tpl'): FunctionApp {
  return {
    id,
    projectId: 'p1',
    name,
    templateId,
    description: '',
    params: { region: 'r1' },
    status: 'creating',
    members: [],
    createdAt: Date.now(),
    updatedAt: Date.now(),
  }
}

export function describeFunctionExtrasContract(name: string, openBackend: OpenBackend): void {
  describe(`FunctionApp, FunctionCollect, FunctionSnapshot and VpcEndpoint contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('apps: names are unique per project; pages, counts, updates and deletes', async () => {
      const repos = (await open()).repos as WithExtras
      await repos.apps.create(app('a1', 'one'))
      await expect(repos.apps.create(app('a2', 'one'))).rejects.toThrow()
      await repos.apps.create(app('a3', 'two', 'other'))
      const members = [{ functionId: 'f', packageName: 'default', name: 'f', triggerIds: ['t'] }]
      await repos.apps.update({ ...app('a1', 'one'), status: 'success', members })
      expect(await repos.apps.get('p1', 'a1')).toMatchObject({
        status: 'success',
        params: { region: 'r1' },
        members,
      })
      const page = await repos.apps.list('p1', { marker: 0, limit: 1 })
      expect(page.count).toBe(2)
      expect(page.apps).toHaveLength(1)
      expect(await repos.apps.countByTemplate('p1', 'tpl')).toBe(1)
      await repos.apps.delete('p1', 'a1')
      expect(await repos.apps.get('p1', 'a1')).toBeUndefined()
    })

    test('collected functions and snapshot switches are idempotent and go with their function', async () => {
      const repos = (await open()).repos as WithExtras
      const fn = await createFunction(repos, 'liked')
      const other = await createFunction(repos, 'plain')
      await repos.collected.set(fn.id, true)
      await repos.collected.set(fn.id, true)
      expect(await repos.collected.collectedOf([fn.id, other.id])).toEqual(new Set([fn.id]))
      await repos.snapshots.set({ projectId: 'p1', functionId: fn.id }, true)
      await repos.snapshots.set({ projectId: 'p1', functionId: fn.id }, true)
      expect(await repos.snapshots.isEnabled(fn.id)).toBe(true)
      expect(await repos.snapshots.listEnabled()).toEqual([{ projectId: 'p1', functionId: fn.id }])
      await repos.functions.delete(fn)
      expect(await repos.collected.collectedOf([fn.id])).toEqual(new Set())
      expect(await repos.snapshots.isEnabled(fn.id)).toBe(false)
    })

    test('VPC endpoints: put replaces flavor and xrole; delete says whether one went', async () => {
      const repos = (await open()).repos as WithExtras
      const endpoint = {
        projectId: 'p1',
        vpcId: 'net',
        subnetId: 'sub',
        flavor: 'small',
        xrole: 'r',
        createdAt: Date.now(),
      }
      await repos.vpcEndpoints.put(endpoint)
      await repos.vpcEndpoints.put({ ...endpoint, flavor: 'large' })
      expect(await repos.vpcEndpoints.delete('p1', 'net', 'sub')).toBe(true)
      expect(await repos.vpcEndpoints.delete('p1', 'net', 'sub')).toBe(false)
    })
  })
}
