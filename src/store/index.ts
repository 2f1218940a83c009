/** @module store: the embedded store (SQLite + content-addressed code on local disk). */
export { openStore } from './open-store.js'
export type { OpenStoreOptions, Store } from './open-store.js'
export { CodeStore, DEFAULT_CODE_LIMITS, handlerModulePath } from './code-store.js'
export type { CodeStoreLimits, StoredCode } from './code-store.js'
export { FunctionStore } from './function-store.js'
export type { FunctionPage, ListFunctionsQuery, NewFunction } from './function-store.js'
export { InvocationLogStore } from './invocation-log-store.js'
export type { InvocationLogQuery, StoredInvocation } from './invocation-log-store.js'
export { SecretBox } from './secret-box.js'
export { TenantStore, generateKeyPair } from './tenant-store.js'
export type { BootstrapHooks, BootstrapOutcome, BootstrapRequest, KeyPair } from './tenant-store.js'
export {
  ROOT_CREDENTIALS_FILE,
  formatCredentialExports,
  writeRootCredentialsFile,
} from './root-credentials-file.js'
export { VersionStore } from './version-store.js'
export type { Alias, PublishedVersion, VersionRule, VersionStrategy } from './version-store.js'
export { TestEventStore } from './test-event-store.js'
export type { TestEvent } from './test-event-store.js'
export { TagStore } from './tag-store.js'
export { TriggerStore } from './trigger-store.js'
export type { Tag } from './tag-store.js'
export { DependencyStore } from './dependency-store.js'
export type { DependencyVersion, NewDependencyVersion } from './dependency-store.js'
export { SqliteAsyncQueue } from './sqlite-async-queue.js'
export type { SqliteAsyncQueueOptions } from './sqlite-async-queue.js'
export { AsyncConfigStore } from './async-config-store.js'
