/**
 * The embedded backend (SQLite + local code store) as the contract suites open it: a real store in
 * a temp dir, removed on close.
 */
import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { Limits } from '../../src/core/index.js'
import { openStore, type Store } from '../../src/store/index.js'
import { tmpDir } from '../helpers/strato.js'
import type { OpenBackend } from './store-harness.js'

export const openSqliteBackend: OpenBackend = async (quotas = {}) => {
  const dir = tmpDir('strato-contract-')
  const open = (): Promise<Store> =>
    openStore({
      dataDir: dir,
      quotas: { ...Limits.DEFAULT_QUOTAS, ...quotas },
      onBackgroundError: (err) => {
        throw err
      },
      asyncQueue: { leaseGraceMs: 1_000, fsync: false },
    })
  let store = await open()
  return {
    repos: store,
    async reopen() {
      await store.close()
      store = await open()
      return store
    },
    async close() {
      await store.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
    storedRows(table) {
      const db = new SQLite(path.join(dir, 'strato.db'), { readonly: true })
      try {
        return Promise.resolve(db.prepare(`select * from "${table}"`).all())
      } finally {
        db.close()
      }
    },
  }
}
