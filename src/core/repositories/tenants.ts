/**
 * @module The tenant repository port: tenants (projects) and their access keys.
 */

export interface KeyPair {
  readonly accessKey: string
  readonly secretKey: string
  readonly projectId: string
}

export interface BootstrapRequest {
  readonly projectId: string | undefined
  readonly accessKey: string | undefined
  readonly secretKey: string | undefined
}

/** What ensureBootstrap did. */
export interface BootstrapOutcome {
  /** The root tenant's project id with the key pair the settings name (or the generated one). */
  readonly keys: KeyPair
  /** The root tenant was created by this start (the data dir had none). */
  readonly created: boolean
  /** The key pair was made up, not given: its secret must be shown and saved. */
  readonly generated: boolean
  /** The project id was made up (STRATO_PROJECT_ID not given on the first start). */
  readonly projectIdGenerated: boolean
}

/** Hooks of ensureBootstrap. */
export interface BootstrapHooks {
  /**
   * Called with a new root tenant before it is committed: a throw leaves the data dir without it,
   * so generated keys are never stored without having been handed to someone.
   */
  readonly beforeCreate?: (outcome: BootstrapOutcome) => void
}

/**
 * Tenants and their key pairs. `lookup` runs for every signed request, so it is synchronous: a
 * backend holds every key pair in memory (`load`, again when another node changed one). Each must
 * pass `test/contract/tenant-repository.contract.ts`.
 */
export interface TenantRepository {
  /** (Re)loads every key pair into memory. */
  load(): Promise<void>
  /** The key pair of an access key, from memory. */
  lookup(accessKey: string): KeyPair | undefined
  /** The root tenant's project id: the first tenant named root (a data dir has one). */
  rootProjectId(): Promise<string | undefined>
  /** Creates a tenant with one key pair (idempotent for the tenant; a known key gets the new secret). */
  addTenantKey(keys: KeyPair, name?: string): Promise<void>
  /**
   * Without a root tenant, creates it from the settings, generating what is missing. Later, a key
   * pair in the settings joins the root tenant (or rotates its secret); a STRATO_PROJECT_ID other
   * than the root's, or an access key of another tenant, is INVALID_PARAMETER.
   */
  ensureBootstrap(
    request: BootstrapRequest,
    hooks?: BootstrapHooks,
  ): Promise<BootstrapOutcome | undefined>
}
