import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { expect, test } from 'vitest'
import { useTempStores } from '../../test/helpers/temp-stores.js'
import type { Store } from './open-store.js'
import { ROOT_CREDENTIALS_FILE, writeRootCredentialsFile } from './root-credentials-file.js'

const temp = useTempStores('tenant-store-')
const dataDir = (): string => temp.dataDir()
const open = async (dir: string): Promise<Store> => (await temp.open(dir)).store
const closeStore = (store: Store): Promise<void> => temp.close(store)

function tenantRows(dir: string): Array<{ project_id: string; name: string }> {
  const db = new SQLite(path.join(dir, 'strato.db'), { readonly: true })
  try {
    return db.prepare('SELECT project_id, name FROM tenants').all() as Array<{
      project_id: string
      name: string
    }>
  } finally {
    db.close()
  }
}

const NONE = { projectId: undefined, accessKey: undefined, secretKey: undefined }

test('bootstrap: a key pair given on a later start joins the existing root tenant, never a second one', async () => {
  const dir = dataDir()
  const first = await open(dir)
  const generated = await first.tenants.ensureBootstrap(NONE)
  expect(generated).toMatchObject({ created: true, generated: true, projectIdGenerated: true })
  await closeStore(first)

  const later = await open(dir)
  const added = await later.tenants.ensureBootstrap({
    projectId: undefined,
    accessKey: 'OPERATOR-AK',
    secretKey: 'operator-sk',
  })
  expect(added).toMatchObject({ created: false, generated: false })
  expect(added?.keys.projectId).toBe(generated?.keys.projectId)
  expect(later.tenants.lookup('OPERATOR-AK')?.projectId).toBe(generated?.keys.projectId)
  // The generated key still works beside it.
  expect(later.tenants.lookup(generated?.keys.accessKey ?? '')?.projectId).toBe(
    generated?.keys.projectId,
  )
  await closeStore(later)
  expect(tenantRows(dir)).toEqual([{ project_id: generated?.keys.projectId, name: 'root' }])
})

test('bootstrap: a later STRATO_PROJECT_ID other than the root tenant is refused, naming both', async () => {
  const dir = dataDir()
  const store = await open(dir)
  const root = await store.tenants.ensureBootstrap({ ...NONE, projectId: 'aaaa1111' })
  expect(root?.keys.projectId).toBe('aaaa1111')
  const refused = { projectId: 'bbbb2222', accessKey: 'AK2', secretKey: 'sk2' }
  await expect(store.tenants.ensureBootstrap(refused)).rejects.toThrow(
    /STRATO_PROJECT_ID=bbbb2222 is not the project id of this data dir's root tenant, aaaa1111/,
  )
  await expect(
    store.tenants.ensureBootstrap({ ...NONE, projectId: 'bbbb2222' }),
  ).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
  // The same id is fine, and so is rotating the secret of a key.
  await store.tenants.ensureBootstrap({ ...refused, projectId: 'aaaa1111' })
  await store.tenants.ensureBootstrap({ ...refused, projectId: undefined, secretKey: 'sk3' })
  expect(store.tenants.lookup('AK2')).toEqual({
    accessKey: 'AK2',
    secretKey: 'sk3',
    projectId: 'aaaa1111',
  })
  await closeStore(store)
  expect(tenantRows(dir).map((r) => r.project_id)).toEqual(['aaaa1111'])
})

test('bootstrap: generated credentials go to a 0600 export file before the tenant is committed', async () => {
  const dir = dataDir()
  const store = await open(dir)
  // A hook that fails (disk full) leaves no root tenant behind: the next start generates anew.
  await expect(
    store.tenants.ensureBootstrap(NONE, {
      beforeCreate: () => {
        throw new Error('disk full')
      },
    }),
  ).rejects.toThrow('disk full')
  expect(await store.tenants.rootProjectId()).toBeUndefined()

  let file = ''
  const outcome = await store.tenants.ensureBootstrap(NONE, {
    beforeCreate: (o) => {
      file = writeRootCredentialsFile(dir, o, 'http://127.0.0.1:8080')
    },
  })
  expect(file).toBe(path.join(dir, ROOT_CREDENTIALS_FILE))
  expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  const keys = outcome?.keys
  expect(fs.readFileSync(file, 'utf8').split('\n').slice(1)).toEqual([
    'export STRATO_ENDPOINT=http://127.0.0.1:8080',
    `export STRATO_PROJECT_ID=${keys?.projectId}`,
    `export STRATO_ACCESS_KEY=${keys?.accessKey}`,
    `export STRATO_SECRET_KEY=${keys?.secretKey}`,
    '',
  ])
})
