/**
 * @module Opens the shared store (cluster mode, ADR 0025): the repositories on PostgreSQL (the
 * core ones with their caches kept exact through `ClusterChanges`; logs, audit, usage, flows and
 * the async queue: ADR 0026 and the store README), the code store still this node's data dir (its
 * packages shared through `CodeObjects`), the master key from the cluster's key file, and the data
 * dir locked per node as on SQLite.
 */
import fs from 'node:fs'
import { CodeStore, DEFAULT_CODE_LIMITS } from '../code-store.js'
import { lockDataDir } from '../data-dir-lock.js'
import { kyselyRepositories } from '../kysely-repositories.js'
import { FunctionCascade } from '../function-cascade.js'
import type { OpenStoreOptions, Store, StoreClusterOptions } from '../open-store.js'
import { ProjectLogSettingsStore } from '../project-log-settings-store.js'
import { PruneSchedule } from '../prune-schedule.js'
import { SecretBox } from '../secret-box.js'
import { PgStoreTransactions } from '../store-transaction.js'
import { TenantStore } from '../tenant-store.js'
import { PgAsyncQueue } from './pg-async-queue.js'
import { PgAuditTrailStore } from './pg-audit-trail-store.js'
import { openPgDatabase } from './pg-database.js'
import { PgFlowStore } from './pg-flow-store.js'
import { PgInvocationLogStore } from './pg-invocation-log-store.js'
import { PgUsageStore } from './pg-usage-store.js'

export interface PgStoreOptions {
  /** The PostgreSQL schema (search_path); tests give each store their own. Default: `public`'s. */
  readonly schema?: string
  /** Connections this node keeps at most. */
  readonly maxConnections?: number
}

/** `options.cluster.storeUrl` must be set (openStore dispatches here when it is). */
export async function openPgStore(
  options: OpenStoreOptions,
  pgOptions: PgStoreOptions = {},
): Promise<Store> {
  const cluster = options.cluster
  const url = cluster?.storeUrl
  if (cluster === undefined || url === undefined) {
    throw new TypeError('openPgStore needs options.cluster.storeUrl')
  }
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const lock = options.dataDirLock ?? lockDataDir(options.dataDir)
  try {
    const pg = await openPgDatabase({
      url,
      ...(pgOptions.schema === undefined ? {} : { schema: pgOptions.schema }),
      ...(pgOptions.maxConnections === undefined
        ? {}
        : { maxConnections: pgOptions.maxConnections }),
    })
    try {
      return await build(options, cluster, pg.db, pg.pool, async () => {
        // After every class that writes through the pool has committed what it holds.
        await pg.close()
        lock.release()
      })
    } catch (err) {
      await pg.close()
      throw err
    }
  } catch (err) {
    lock.release()
    throw err
  }
}

async function build(
  options: OpenStoreOptions,
  cluster: StoreClusterOptions,
  db: Awaited<ReturnType<typeof openPgDatabase>>['db'],
  pool: Awaited<ReturnType<typeof openPgDatabase>>['pool'],
  close: () => Promise<void>,
): Promise<Store> {
  const { changes } = cluster
  const onError = options.onBackgroundError
  const secrets = SecretBox.openFile(cluster.masterKeyFile)
  const tenants = new TenantStore(db, secrets, changes, onError)
  await tenants.load()
  const logSettings = new ProjectLogSettingsStore(db, changes, onError)
  await logSettings.load()
  const code = new CodeStore(
    options.dataDir,
    {
      ...DEFAULT_CODE_LIMITS,
      packageMaxBytes: options.quotas.codePackageMaxBytes,
      unzippedMaxBytes: options.quotas.codeUnzippedMaxBytes,
    },
    cluster.codeObjects,
  )
  const logs = new PgInvocationLogStore(db, pool, onError)
  const audit = new PgAuditTrailStore(pool, onError)
  const usage = new PgUsageStore(pool)
  const asyncQueue = new PgAsyncQueue(db, pool, {
    nodeId: cluster.nodeId,
    leaseGraceMs: options.asyncQueue?.leaseGraceMs ?? 30_000,
    onError,
    logsWritten: () => logs.whenWritten(),
  })
  // Handed out once it hears other nodes' enqueues.
  await asyncQueue.started()
  const pruning = new PruneSchedule(logs, asyncQueue, audit)
  const { owned, others } = kyselyRepositories({
    db,
    code,
    secrets,
    quotas: options.quotas,
    changes,
    onBackgroundError: onError,
  })
  return {
    ...owned,
    ...others,
    tenants,
    logs,
    logSettings,
    asyncQueue,
    asyncRecords: asyncQueue,
    audit,
    code,
    secrets,
    cascade: new FunctionCascade(new PgStoreTransactions(pool), owned),
    flows: new PgFlowStore(db),
    pruning,
    usage,
    asyncBacklog: asyncQueue,
    async close() {
      pruning.stop()
      // The queue's close commits settlements waiting for their logs; the logs' close the rest.
      await asyncQueue.close()
      await logs.close()
      await audit.close()
      await close()
    },
  }
}
