/**
 * @module The repositories that are plain Kysely on either dialect, built once for both backends
 * (`openStore` on SQLite, `openPgStore` on PostgreSQL); each backend adds its own logs, audit,
 * usage, flows, async queue and transactions.
 */
import type { Kysely } from 'kysely'
import type { ClusterChanges, Limits } from '../core/index.js'
import { AsyncConfigStore } from './async-config-store.js'
import type { CodeStore } from './code-store.js'
import type { Database } from './database.js'
import { DependencyStore } from './dependency-store.js'
import { FunctionAppStore } from './function-app-store.js'
import { FunctionCollectStore } from './function-collect-store.js'
import { FunctionSnapshotStore } from './function-snapshot-store.js'
import { FunctionStore } from './function-store.js'
import { ReservedInstanceStore } from './reserved-instance-store.js'
import type { SecretBox } from './secret-box.js'
import { TagStore } from './tag-store.js'
import { TestEventStore } from './test-event-store.js'
import { TracingStore } from './tracing-store.js'
import { TriggerStore } from './trigger-store.js'
import { VersionStore } from './version-store.js'
import { VpcEndpointStore } from './vpc-endpoint-store.js'

export interface KyselyRepositoryDeps {
  readonly db: Kysely<Database>
  readonly code: CodeStore
  readonly secrets: SecretBox
  readonly quotas: Limits.Quotas
  /** Other nodes' writes (`SINGLE_NODE_CHANGES` on one node). */
  readonly changes: ClusterChanges
  readonly onBackgroundError: (err: unknown) => void
}

export interface KyselyRepositories {
  readonly owned: {
    readonly functions: FunctionStore
    readonly versions: VersionStore
    readonly triggers: TriggerStore
    readonly testEvents: TestEventStore
    readonly tags: TagStore
    readonly asyncConfigs: AsyncConfigStore
  }
  readonly others: {
    readonly dependencies: DependencyStore
    readonly reservedInstances: ReservedInstanceStore
    readonly tracing: TracingStore
    readonly apps: FunctionAppStore
    readonly collected: FunctionCollectStore
    readonly vpcEndpoints: VpcEndpointStore
    readonly snapshots: FunctionSnapshotStore
  }
}

/**
 * `owned`: the repositories a function's delete cascade goes through (`FunctionCascade`);
 * `others`: the rest of the shared ones.
 */
export function kyselyRepositories(deps: KyselyRepositoryDeps): KyselyRepositories {
  const { db, code, secrets, quotas, changes } = deps
  const owned = {
    functions: new FunctionStore(db, quotas.functionsPerProject, code, changes),
    versions: new VersionStore(db, quotas, changes),
    triggers: new TriggerStore(db, secrets, changes, deps.onBackgroundError),
    testEvents: new TestEventStore(db),
    tags: new TagStore(db),
    asyncConfigs: new AsyncConfigStore(db, changes),
  }
  const others = {
    dependencies: new DependencyStore(db, code),
    reservedInstances: new ReservedInstanceStore(db),
    tracing: new TracingStore(db, changes),
    apps: new FunctionAppStore(db),
    collected: new FunctionCollectStore(db),
    vpcEndpoints: new VpcEndpointStore(db),
    snapshots: new FunctionSnapshotStore(db),
  }
  return { owned, others }
}
