/**
 * @module Repository ports of what hangs off a function (test events, tags) and of a project's
 * dependency packages.
 */
import type { RuntimeName } from '../runtimes.js'

/** A saved test event; `content` is base64, `last_modified` epoch seconds (as on the wire). */
export interface TestEvent {
  readonly id: string
  readonly function_id: string
  readonly name: string
  readonly content: string
  readonly last_modified: number
}

export interface TestEventRepository {
  /** RESOURCE_EXISTS for a taken name, TEST_EVENT_QUOTA_EXCEEDED past the limit. */
  create(functionId: string, name: string, content: string): Promise<TestEvent>
  list(functionId: string): Promise<TestEvent[]>
  /** TEST_EVENT_NOT_FOUND when the function has none with this id. */
  get(functionId: string, id: string): Promise<TestEvent>
  update(functionId: string, id: string, content: string): Promise<TestEvent>
  delete(functionId: string, id: string): Promise<void>
  deleteAllOf(functionId: string): Promise<void>
}

export interface Tag {
  readonly key: string
  readonly value: string
}

export interface TagRepository {
  /** By key. */
  list(functionId: string): Promise<Tag[]>
  /** Every key of these functions with the values it has, sorted. */
  keysOf(functionIds: readonly string[]): Promise<Array<{ key: string; values: string[] }>>
  /** Adds or overwrites tags; TAG_QUOTA_EXCEEDED past 20 on the function (nothing written). */
  put(functionId: string, tags: readonly Tag[]): Promise<void>
  delete(functionId: string, keys: readonly string[]): Promise<void>
  deleteAllOf(functionId: string): Promise<void>
}

/** One version of a dependency, with its package's name and runtime. */
export interface DependencyVersion {
  readonly id: string
  readonly depId: string
  readonly projectId: string
  readonly name: string
  readonly runtime: string
  readonly version: number
  readonly digest: string
  readonly size: number
  /** MD5 hex of the zip, as FunctionGraph reports `etag`. */
  readonly etag: string
  readonly fileName: string
  readonly description: string
  /** Epoch seconds. */
  readonly lastModified: number
}

export interface NewDependencyVersion {
  readonly projectId: string
  readonly name: string
  readonly runtime: RuntimeName
  readonly description: string
  readonly fileName: string
  readonly zip: Buffer
}

/** Dependency packages: named zips in numbered versions, per project and runtime. */
export interface DependencyRepository {
  /** Stores the zip and adds it as the next version of the dependency `name` for `runtime`. */
  createVersion(input: NewDependencyVersion): Promise<DependencyVersion>
  /** The newest version of each of the project's dependencies. */
  listLatest(
    projectId: string,
    filter: { name?: string; runtime?: string },
  ): Promise<DependencyVersion[]>
  /** DEPENDENCY_NOT_FOUND for an unknown dependency. */
  listVersions(projectId: string, depId: string): Promise<DependencyVersion[]>
  getVersion(projectId: string, depId: string, version: number): Promise<DependencyVersion>
  /** A version by its id within the project (how functions name their dependencies). */
  getById(projectId: string, id: string): Promise<DependencyVersion>
  /** DEPENDENCY_IN_USE while a function or a published version attaches it. */
  deleteVersion(projectId: string, depId: string, version: number): Promise<void>
  /** Every digest a dependency version stores, for code garbage collection. */
  referencedDigests(): Promise<Set<string>>
}
