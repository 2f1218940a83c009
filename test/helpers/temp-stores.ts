/**
 * Real stores on temporary data dirs for unit tests, closed and removed after each test (stores
 * first: the log writer uses the data dir until it closes).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'
import { Limits } from '../../src/core/index.js'
import { openStore, type Store } from '../../src/store/index.js'

export interface TempStores {
  /** A fresh empty data dir, removed after the test. */
  dataDir(): string
  /** Opens a store on `dir` (a fresh one if not given); closed after the test. */
  open(dir?: string): Promise<{ store: Store; dir: string }>
  /** Closes a store now (a test that reopens its data dir). */
  close(store: Store): Promise<void>
}

/** Call at the top level of a test file: registers the clean-up. */
export function useTempStores(prefix: string): TempStores {
  const dirs: string[] = []
  const stores: Store[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) {
      await store.close()
    }
    for (const d of dirs.splice(0)) {
      fs.rmSync(d, { recursive: true, force: true })
    }
  })
  const dataDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    dirs.push(d)
    return d
  }
  return {
    dataDir,
    async open(dir = dataDir()) {
      const store = await openStore({
        dataDir: dir,
        quotas: Limits.DEFAULT_QUOTAS,
        onBackgroundError: (err) => {
          throw err
        },
      })
      stores.push(store)
      return { store, dir }
    },
    async close(store) {
      stores.splice(stores.indexOf(store), 1)
      await store.close()
    },
  }
}
