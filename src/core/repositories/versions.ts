/**
 * @module The version and alias repository ports: published versions (immutable snapshots of a
 * function) and the aliases that route invocations to them.
 */
import type { FunctionRecord } from '../function.js'

/** One rule of rule-based routing: a header or cookie compared with `=` or `in` (comma list). */
export interface VersionRule {
  readonly ruleType: 'header' | 'cookie'
  readonly param: string
  readonly op: '=' | 'in'
  readonly value: string
}

export interface VersionStrategy {
  readonly combineType: 'and' | 'or'
  readonly rules: readonly VersionRule[]
}

export interface PublishedVersion {
  readonly fn: FunctionRecord
  readonly description: string
  readonly publishedAt: Date
}

export interface Alias {
  readonly name: string
  readonly version: string
  readonly description: string
  /** `additional_version_weights`: version → percent of invocations. */
  readonly weights: Readonly<Record<string, number>>
  /** `additional_version_strategy`: version → the rules that send an invocation to it. */
  readonly strategy: Readonly<Record<string, VersionStrategy>>
  readonly lastModified: Date
}

/**
 * Published versions. A snapshot never changes, so `get` (on the invoke path of a version or
 * alias URN) may be answered from memory. Each backend must pass
 * `test/contract/version-repository.contract.ts`, with its aliases.
 */
export interface VersionRepository {
  /**
   * Publishes `latest` as version `name` (auto-named `vYYYYMMDD-HHMMSS` when not given), checked
   * with the insert as one step: VERSION_EXISTS, NOTHING_TO_PUBLISH (nothing changed since the
   * last publication), VERSION_QUOTA_EXCEEDED (latest counts).
   */
  publish(
    latest: FunctionRecord,
    name: string | undefined,
    description: string,
  ): Promise<PublishedVersion>
  get(fn: Pick<FunctionRecord, 'id'>, version: string): Promise<PublishedVersion | undefined>
  /** Published versions in publication order. */
  list(fn: Pick<FunctionRecord, 'id'>): Promise<PublishedVersion[]>
  /** Deletes a version; VERSION_REFERENCED while an alias routes to it in any way. */
  deleteVersion(fn: Pick<FunctionRecord, 'id'>, version: string): Promise<void>
  /** Removes every version and alias of a deleted function. */
  deleteAllOf(fn: Pick<FunctionRecord, 'id'>): Promise<void>
  /** Every digest a published version runs, for code garbage collection. */
  referencedDigests(): Promise<Set<string>>
}

/** Aliases of functions (today kept by the same backend object as the versions they route to). */
export interface AliasRepository {
  getAlias(fn: Pick<FunctionRecord, 'id'>, name: string): Promise<Alias | undefined>
  /** In creation order. */
  listAliases(fn: Pick<FunctionRecord, 'id'>): Promise<Alias[]>
  /**
   * Creates or replaces an alias. The caller has validated versions and weights; this enforces
   * the per-function rules: ALIAS_EXISTS / ALIAS_NOT_FOUND by `mode`, ALIAS_QUOTA_EXCEEDED, and
   * VERSION_HAS_ALIAS (two aliases never share their main version).
   */
  putAlias(
    fn: Pick<FunctionRecord, 'id'>,
    alias: Omit<Alias, 'lastModified'>,
    mode: 'create' | 'update',
  ): Promise<Alias>
  deleteAlias(fn: Pick<FunctionRecord, 'id'>, name: string): Promise<void>
}
