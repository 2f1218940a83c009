/**
 * The shared backend (PostgreSQL + local code store) as the contract suites open it: a fresh
 * schema on the machine's PostgreSQL and a temp data dir per backend; reopen closes and opens on
 * the same schema (a node restart); close drops both. An unreachable PostgreSQL fails the tests.
 */
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { Limits, SINGLE_NODE_CHANGES, type ClusterChanges } from '../../src/core/index.js'
import { openPgStore, type Store } from '../../src/store/index.js'
import { freshPgSchema, PG_TEST_URL } from '../helpers/cluster-services.js'
import { tmpDir } from '../helpers/strato.js'
import type { OpenBackend } from './store-harness.js'

/** Opens a PostgreSQL store on `schema` with its own data dir (one node of a test cluster). */
export function openPgNode(
  schema: string,
  dataDir: string,
  options: {
    quotas?: Partial<Limits.Quotas>
    changes?: ClusterChanges
    masterKeyFile?: string
  } = {},
): Promise<Store> {
  return openPgStore(
    {
      dataDir,
      quotas: { ...Limits.DEFAULT_QUOTAS, ...options.quotas },
      onBackgroundError: (err) => {
        throw err
      },
      cluster: {
        nodeId: path.basename(dataDir),
        storeUrl: PG_TEST_URL,
        masterKeyFile: options.masterKeyFile ?? path.join(dataDir, 'master.key'),
        changes: options.changes ?? SINGLE_NODE_CHANGES,
        codeObjects: undefined,
      },
    },
    { schema, maxConnections: 4 },
  )
}

export const openPgBackend: OpenBackend = async (quotas = {}) => {
  const dir = tmpDir('strato-pg-contract-')
  const fresh = freshPgSchema()
  const open = (): Promise<Store> => openPgNode(fresh.schema, dir, { quotas })
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
      await fresh.drop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
    async storedRows(table) {
      const client = new pg.Client({ connectionString: PG_TEST_URL })
      await client.connect()
      try {
        return (await client.query(`select * from "${fresh.schema}"."${table}"`)).rows
      } finally {
        await client.end()
      }
    },
  }
}
