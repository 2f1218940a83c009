/**
 * The embedded SqliteAsyncQueue against the AsyncQueue contract, on a real store in a temp dir.
 */
import fs from 'node:fs'
import { Limits } from '../../src/core/index.js'
import { openStore, type Store } from '../../src/store/index.js'
import { tmpDir } from '../helpers/strato.js'
import { runAsyncQueueContract, withRecords } from './async-queue.contract.js'

async function openAt(dir: string): Promise<Store> {
  return openStore({
    dataDir: dir,
    quotas: Limits.DEFAULT_QUOTAS,
    onBackgroundError: (err) => {
      throw err
    },
    asyncQueue: { leaseGraceMs: 1_000, fsync: true },
  })
}

runAsyncQueueContract('SqliteAsyncQueue', async () => {
  const dir = tmpDir('strato-queue-')
  let store = await openAt(dir)
  return {
    queue: withRecords(store.asyncQueue, store.asyncRecords),
    async reopen() {
      await store.close()
      store = await openAt(dir)
      return withRecords(store.asyncQueue, store.asyncRecords)
    },
    async close() {
      await store.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})
