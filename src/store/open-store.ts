/**
 * @module Opens the embedded store: SQLite (WAL) in the data dir, migrated, plus the code store;
 * or, in cluster mode, the shared store on PostgreSQL (`pg/open-pg-store.ts`).
 */
import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  StratoError,
  type AliasRepository,
  type AsyncBacklog,
  type AsyncConfigRepository,
  type TracingRepository,
  type FunctionAppRepository,
  type FunctionCollectRepository,
  type VpcEndpointRepository,
  type FunctionSnapshotRepository,
  type AsyncQueue,
  type AsyncRecordRepository,
  type ClusterChanges,
  type CodeObjects,
  type AuditTrailRepository,
  type CodeRepository,
  type DependencyRepository,
  type FlowRepository,
  type FunctionRepository,
  type InvocationLogRepository,
  type ProjectLogSettingsRepository,
  type Limits,
  type ReservedInstanceRepository,
  type TagRepository,
  type TenantRepository,
  type TestEventRepository,
  type TriggerRepository,
  type UsageRepository,
  type VersionRepository,
} from '../core/index.js'
import { CodeStore, DEFAULT_CODE_LIMITS } from './code-store.js'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { kyselyRepositories } from './kysely-repositories.js'
import type { Database } from './database.js'
import { FlowStore } from './flow-store.js'
import { InvocationLogStore } from './invocation-log-store.js'
import { ProjectLogSettingsStore } from './project-log-settings-store.js'
import { migrationProvider } from './migrations.js'
import { SecretBox } from './secret-box.js'
import { TenantStore } from './tenant-store.js'
import { SqliteAsyncQueue } from './sqlite-async-queue.js'
import { FunctionCascade } from './function-cascade.js'
import { SqliteStoreTransactions } from './store-transaction.js'
import { PruneSchedule } from './prune-schedule.js'
import { AuditTrailStore } from './audit-trail-store.js'
import { UsageStore } from './usage-store.js'
import { openPgStore } from './pg/open-pg-store.js'

/**
 * Everything persistent, behind one object that main.ts builds and closes: one repository (core's
 * ports) per concern, whatever the backend. Consumers see the interfaces, never the classes.
 */
export interface Store {
  readonly functions: FunctionRepository
  readonly tenants: TenantRepository
  readonly logs: InvocationLogRepository
  readonly logSettings: ProjectLogSettingsRepository
  /** Published versions and the aliases that route to them (one backend object serves both). */
  readonly versions: VersionRepository & AliasRepository
  readonly testEvents: TestEventRepository
  readonly tags: TagRepository
  readonly triggers: TriggerRepository
  readonly dependencies: DependencyRepository
  /** The embedded async queue; main.ts hands it to the dispatcher and the API. */
  readonly asyncQueue: AsyncQueue
  /** What users read and cancel of the async queue (the embedded queue serves both). */
  readonly asyncRecords: AsyncRecordRepository
  readonly asyncConfigs: AsyncConfigRepository
  /** Management calls (CTS traces), append-only, pruned by `pruning` past their own retention. */
  readonly audit: AuditTrailRepository
  /** Reserved-instance configs, re-established by the scheduler at every start. */
  readonly reservedInstances: ReservedInstanceRepository
  readonly tracing: TracingRepository
  /** Function applications (groups of functions made from an app template). */
  readonly apps: FunctionAppRepository
  /** Functions marked collected (favourite). */
  readonly collected: FunctionCollectRepository
  /** Projects' registrations to use the operator's named networks (VPC endpoints). */
  readonly vpcEndpoints: VpcEndpointRepository
  /** Functions with snapshot start on. */
  readonly snapshots: FunctionSnapshotRepository
  readonly code: CodeRepository
  readonly secrets: SecretBox
  /** Deletes of a function, a version or an alias with all they own, one transaction each. */
  readonly cascade: FunctionCascade
  /** Logs and finished async records past their retention go, once started (hourly). */
  readonly pruning: PruneSchedule
  /** Requests and GB-seconds per function and hour (pay-per-use). */
  readonly usage: UsageRepository
  /** What the async queue holds and has not run yet, for `/metrics`. */
  readonly asyncBacklog: AsyncBacklog
  /** Function flows: workflows, executions and their fenced, append-only histories. */
  readonly flows: FlowRepository
  close(): Promise<void>
}

export interface OpenStoreOptions {
  readonly dataDir: string
  readonly quotas: Limits.Quotas
  readonly onBackgroundError: (err: unknown) => void
  /** Async queue settings (see SqliteAsyncQueueOptions). */
  readonly asyncQueue?: { readonly leaseGraceMs: number; readonly fsync: boolean }
  /** Cluster mode (docs/cluster.md); absent: one embedded node. */
  readonly cluster?: StoreClusterOptions
  /**
   * The data dir's lock, when the caller took it first (`lockDataDir`): a cluster node takes it
   * before it joins the cluster, so that a second process on the same data dir is refused before
   * it can touch the first one's slots or membership. The store releases it on close (or on a
   * failed open).
   */
  readonly dataDirLock?: DataDirLock
}

/** What a store shared by several nodes needs to know of the cluster. */
export interface StoreClusterOptions {
  /** This node (lease owner of its async attempts and flow executions). */
  readonly nodeId: string
  /** `postgres://…`: the shared store; undefined keeps SQLite in the data dir. */
  readonly storeUrl: string | undefined
  /** Where the master key is (`<data dir>/master.key` by default); every node needs the same. */
  readonly masterKeyFile: string
  /** Announcements of writes to the other nodes' caches. */
  readonly changes: ClusterChanges
  /** Code packages shared by the nodes; undefined: this node's code store only. */
  readonly codeObjects: CodeObjects | undefined
}

/** SQLite in the data dir; PostgreSQL (shared by a cluster's nodes) when `cluster.storeUrl` is set. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.cluster?.storeUrl !== undefined) {
    return openPgStore(options)
  }
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const lock = options.dataDirLock ?? lockDataDir(options.dataDir)
  try {
    return await openLocked(options, lock)
  } catch (err) {
    lock.release()
    throw err
  }
}

async function openLocked(options: OpenStoreOptions, lock: DataDirLock): Promise<Store> {
  const sqlite = new SQLite(path.join(options.dataDir, 'strato.db'))
  // WAL: readers never block the writer; NORMAL: a commit survives a process crash (not a power
  // cut, which loses at most the last transactions, never corrupts).
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest()
  if (error !== undefined) {
    await db.destroy()
    throw new StratoError('INTERNAL', 'Migrating the database failed.', { cause: error })
  }
  const secrets = SecretBox.openFile(
    options.cluster?.masterKeyFile ?? path.join(options.dataDir, 'master.key'),
  )
  const tenants = new TenantStore(db, secrets)
  await tenants.load()
  const logs = new InvocationLogStore(options.dataDir, sqlite, options.onBackgroundError)
  const logSettings = new ProjectLogSettingsStore(db)
  await logSettings.load()
  const asyncQueue = new SqliteAsyncQueue(sqlite, {
    leaseGraceMs: options.asyncQueue?.leaseGraceMs ?? 30_000,
    fsync: options.asyncQueue?.fsync ?? true,
    onError: options.onBackgroundError,
    logsWritten: () => logs.whenWritten(),
    flushLogs: () => logs.flush(),
  })
  const code = new CodeStore(
    options.dataDir,
    {
      ...DEFAULT_CODE_LIMITS,
      packageMaxBytes: options.quotas.codePackageMaxBytes,
      unzippedMaxBytes: options.quotas.codeUnzippedMaxBytes,
    },
    options.cluster?.codeObjects,
  )
  const audit = new AuditTrailStore(sqlite, options.onBackgroundError)
  const pruning = new PruneSchedule(logs, asyncQueue, audit)
  const usage = new UsageStore(sqlite)
  const transactions = new SqliteStoreTransactions(db, sqlite)
  const { owned, others } = kyselyRepositories({
    db,
    code,
    secrets,
    quotas: options.quotas,
    changes: SINGLE_NODE_CHANGES,
    onBackgroundError: options.onBackgroundError,
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
    cascade: new FunctionCascade(transactions, owned),
    flows: new FlowStore(db, transactions, sqlite),
    pruning,
    usage,
    asyncBacklog: usage,
    async close() {
      pruning.stop()
      // The queue's close writes the logs its waiting settlements need first; logs.close the rest.
      asyncQueue.close()
      await logs.close()
      audit.close()
      await db.destroy()
      lock.release()
    },
  }
}
