/**
 * @module Opens the shared store (cluster mode, ADR 0025): the repositories on PostgreSQL, their
 * caches kept exact through `ClusterChanges`, the code store still this node's data dir (its
 * packages shared through `CodeObjects` by the code store's owner), the master key from the
 * cluster's key file, and the data dir locked per node as on SQLite.
 */
import fs from 'node:fs'
import {
  type AsyncBacklog,
  type AsyncQueue,
  type AsyncRecordRepository,
  type AuditTrailRepository,
  type FlowRepository,
  type InvocationLogRepository,
  type UsageRepository,
} from '../../core/index.js'
import { AsyncConfigStore } from '../async-config-store.js'
import { CodeStore, DEFAULT_CODE_LIMITS } from '../code-store.js'
import { lockDataDir } from '../data-dir-lock.js'
import { DependencyStore } from '../dependency-store.js'
import { FunctionAppStore } from '../function-app-store.js'
import { FunctionCascade } from '../function-cascade.js'
import { FunctionCollectStore } from '../function-collect-store.js'
import { FunctionSnapshotStore } from '../function-snapshot-store.js'
import { FunctionStore } from '../function-store.js'
import type { InvocationLogStore } from '../invocation-log-store.js'
import type { OpenStoreOptions, Store, StoreClusterOptions } from '../open-store.js'
import { ProjectLogSettingsStore } from '../project-log-settings-store.js'
import { PruneSchedule } from '../prune-schedule.js'
import { ReservedInstanceStore } from '../reserved-instance-store.js'
import { SecretBox } from '../secret-box.js'
import { PgStoreTransactions } from '../store-transaction.js'
import { TagStore } from '../tag-store.js'
import { TenantStore } from '../tenant-store.js'
import { TestEventStore } from '../test-event-store.js'
import { TracingStore } from '../tracing-store.js'
import { TriggerStore } from '../trigger-store.js'
import { VersionStore } from '../version-store.js'
import { VpcEndpointStore } from '../vpc-endpoint-store.js'
import { notYetOnPg } from './not-yet-on-pg.js'
import { openPgDatabase } from './pg-database.js'

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
  const lock = lockDataDir(options.dataDir)
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
  // The other helpers' PostgreSQL classes replace these at merge (docs/decisions/0025).
  const logs = notYetOnPg<InvocationLogRepository & Pick<InvocationLogStore, 'prune'>>('logs')
  const audit = notYetOnPg<AuditTrailRepository>('audit')
  const usage = notYetOnPg<UsageRepository & AsyncBacklog>('usage')
  const asyncQueue = notYetOnPg<AsyncQueue & AsyncRecordRepository>('asyncQueue')
  const owned = {
    functions: new FunctionStore(db, options.quotas.functionsPerProject, code, changes),
    versions: new VersionStore(db, options.quotas, changes),
    triggers: new TriggerStore(db, secrets, changes, onError),
    testEvents: new TestEventStore(db),
    tags: new TagStore(db),
    asyncConfigs: new AsyncConfigStore(db, changes),
  }
  return {
    ...owned,
    dependencies: new DependencyStore(db, code),
    reservedInstances: new ReservedInstanceStore(db),
    tracing: new TracingStore(db, changes),
    apps: new FunctionAppStore(db),
    collected: new FunctionCollectStore(db),
    vpcEndpoints: new VpcEndpointStore(db),
    snapshots: new FunctionSnapshotStore(db),
    tenants,
    logs,
    logSettings,
    asyncQueue,
    asyncRecords: asyncQueue,
    audit,
    code,
    secrets,
    cascade: new FunctionCascade(new PgStoreTransactions(pool), owned),
    flows: notYetOnPg<FlowRepository>('flows'),
    pruning: new PruneSchedule(logs, asyncQueue, audit),
    usage,
    asyncBacklog: usage,
    close,
  }
}
