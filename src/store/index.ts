/**
 * @module store: the embedded store (SQLite + content-addressed code on local disk). `openStore`
 * builds its repositories; everyone else sees them as core's repository ports, never as classes.
 */
export { openStore } from './open-store.js'
export type { OpenStoreOptions, Store, StoreClusterOptions } from './open-store.js'
export { openPgStore } from './pg/open-pg-store.js'
export type { PgStoreOptions } from './pg/open-pg-store.js'
export { DEFAULT_CODE_LIMITS, handlerModulePath } from './code-store.js'
export type { CodeStoreLimits } from './code-store.js'
export { PruneSchedule } from './prune-schedule.js'
export type { PruneScheduleOptions } from './prune-schedule.js'
export { FunctionCascade } from './function-cascade.js'
export { CodeCollector } from './code-collector.js'
export type { CodeCollectorOptions } from './code-collector.js'
export { SecretBox } from './secret-box.js'
export { generateKeyPair } from './tenant-store.js'
export {
  ROOT_CREDENTIALS_FILE,
  formatCredentialExports,
  writeRootCredentialsFile,
} from './root-credentials-file.js'
export type { SqliteAsyncQueueOptions } from './sqlite-async-queue.js'
export { ReadThroughCache } from './read-through-cache.js'
export type { InvalidationListener } from './read-through-cache.js'
// The repository types live in core (the ports); re-exported for the store's users.
export type {
  Alias,
  BootstrapHooks,
  BootstrapOutcome,
  BootstrapRequest,
  CodeCollection,
  DependencyVersion,
  FunctionPage,
  IngestOptions,
  InvocationLogQuery,
  KeyPair,
  ListFunctionsQuery,
  NewDependencyVersion,
  NewFunction,
  PublishedVersion,
  StoredCode,
  StoredInvocation,
  Tag,
  TestEvent,
  VersionRule,
  VersionStrategy,
} from '../core/index.js'
export { lockDataDir } from './data-dir-lock.js'
export type { DataDirLock } from './data-dir-lock.js'
