/** @module store: the embedded store (SQLite + content-addressed code on local disk). */
export { openStore } from './open-store.js'
export type { OpenStoreOptions, Store } from './open-store.js'
export { CodeStore, DEFAULT_CODE_LIMITS, handlerModulePath } from './code-store.js'
export type { CodeStoreLimits } from './code-store.js'
export { CodeCollector } from './code-collector.js'
export type { CodeCollectorOptions } from './code-collector.js'
export { FunctionStore } from './function-store.js'
export { InvocationLogStore } from './invocation-log-store.js'
export { SecretBox } from './secret-box.js'
export { TenantStore, generateKeyPair } from './tenant-store.js'
export {
  ROOT_CREDENTIALS_FILE,
  formatCredentialExports,
  writeRootCredentialsFile,
} from './root-credentials-file.js'
export { VersionStore } from './version-store.js'
export { TestEventStore } from './test-event-store.js'
export { TagStore } from './tag-store.js'
export { TriggerStore } from './trigger-store.js'
export { DependencyStore } from './dependency-store.js'
export { SqliteAsyncQueue } from './sqlite-async-queue.js'
export type { SqliteAsyncQueueOptions } from './sqlite-async-queue.js'
export { AsyncConfigStore } from './async-config-store.js'
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
