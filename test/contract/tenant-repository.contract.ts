/**
 * The TenantRepository contract: key pairs answered from memory, the root tenant's bootstrap, and
 * secrets that survive a restart.
 */
import { describe, expect, test } from 'vitest'
import { backendPerTest, type OpenBackend } from './store-harness.js'

const NONE = { projectId: undefined, accessKey: undefined, secretKey: undefined }

export function describeTenantRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`TenantRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('the first bootstrap creates the root tenant with FunctionGraph-shaped generated keys', async () => {
      const { repos } = await open()
      expect(await repos.tenants.rootProjectId()).toBeUndefined()
      const seen: unknown[] = []
      const outcome = await repos.tenants.ensureBootstrap(NONE, {
        beforeCreate: (o) => seen.push(o),
      })
      expect(outcome).toMatchObject({ created: true, generated: true, projectIdGenerated: true })
      expect(seen).toEqual([outcome])
      const keys = outcome?.keys
      expect(keys?.projectId).toMatch(/^[0-9a-f]{32}$/)
      expect(keys?.accessKey).toMatch(/^[A-Z0-9]{20}$/)
      expect(keys?.secretKey).toMatch(/^[A-Za-z0-9]{40}$/)
      expect(repos.tenants.lookup(keys?.accessKey ?? '')).toEqual(keys)
      expect(await repos.tenants.rootProjectId()).toBe(keys?.projectId)
      // Nothing to do on the next start without settings.
      expect(await repos.tenants.ensureBootstrap(NONE)).toBeUndefined()
    })

    test('a beforeCreate that throws leaves no root tenant behind', async () => {
      const { repos } = await open()
      await expect(
        repos.tenants.ensureBootstrap(NONE, {
          beforeCreate: () => {
            throw new Error('cannot save the credentials')
          },
        }),
      ).rejects.toThrow('cannot save')
      expect(await repos.tenants.rootProjectId()).toBeUndefined()
    })

    test('given settings are used as they are; a foreign project id or access key is refused', async () => {
      const { repos } = await open()
      const given = { projectId: 'a'.repeat(32), accessKey: 'ROOT-AK', secretKey: 'root-sk' }
      const outcome = await repos.tenants.ensureBootstrap(given)
      expect(outcome).toMatchObject({ created: true, generated: false, projectIdGenerated: false })
      expect(repos.tenants.lookup('ROOT-AK')).toEqual(given)
      await expect(
        repos.tenants.ensureBootstrap({ ...given, projectId: 'b'.repeat(32) }),
      ).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
      await repos.tenants.addTenantKey(
        { projectId: 'c'.repeat(32), accessKey: 'OTHER-AK', secretKey: 'x' },
        'other',
      )
      await expect(
        repos.tenants.ensureBootstrap({
          projectId: undefined,
          accessKey: 'OTHER-AK',
          secretKey: 'y',
        }),
      ).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
      // The root tenant stays the first one named root.
      expect(await repos.tenants.rootProjectId()).toBe(given.projectId)
    })

    test('a known access key given with a new secret rotates it', async () => {
      const { repos } = await open()
      const first = await repos.tenants.ensureBootstrap({
        projectId: undefined,
        accessKey: 'ROOT-AK',
        secretKey: 'old',
      })
      await repos.tenants.ensureBootstrap({
        projectId: undefined,
        accessKey: 'ROOT-AK',
        secretKey: 'new',
      })
      expect(repos.tenants.lookup('ROOT-AK')).toEqual({
        projectId: first?.keys.projectId,
        accessKey: 'ROOT-AK',
        secretKey: 'new',
      })
    })

    test('key pairs survive a restart, secrets included; unknown keys are undefined', async () => {
      const backend = await open()
      const outcome = await backend.repos.tenants.ensureBootstrap(NONE)
      await backend.repos.tenants.addTenantKey({
        projectId: 'p2',
        accessKey: 'AK2',
        secretKey: 'sk2',
      })
      const reopened = await backend.reopen()
      expect(reopened.tenants.lookup(outcome?.keys.accessKey ?? '')).toEqual(outcome?.keys)
      expect(reopened.tenants.lookup('AK2')).toEqual({
        projectId: 'p2',
        accessKey: 'AK2',
        secretKey: 'sk2',
      })
      expect(reopened.tenants.lookup('NOPE')).toBeUndefined()
      await reopened.tenants.load()
      expect(reopened.tenants.lookup('AK2')?.secretKey).toBe('sk2')
    })
  })
}
