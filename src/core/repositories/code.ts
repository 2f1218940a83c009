/**
 * @module The code repository port: content-addressed code packages and their extracted,
 * read-only trees (function code and dependency packages alike).
 */
import type { CodeInput, CodeType } from '../function-config.js'
import type { RuntimeFamily } from '../runtimes.js'

/** What the function record keeps of its code. */
export interface StoredCode {
  readonly digest: string
  /** Bytes of the zip (FunctionGraph's `code_size`). */
  readonly codeSize: number
  /** Bytes of the extracted files; the project's code quota counts both. */
  readonly unzippedSize: number
  readonly codeFilename: string
  readonly codeType: CodeType
}

export interface IngestOptions {
  /**
   * The project's code quota (zips and extracted files together) and what it uses without this
   * package. A package past it is refused from its declared sizes before anything is written, or
   * the moment its extracted bytes pass it.
   */
  readonly quota?: { readonly limitBytes: number; readonly usedBytes: number }
}

/** What one garbage collection did; a tree that cannot be removed is reported, not fatal. */
export interface CodeCollection {
  readonly removed: number
  readonly failures: ReadonlyArray<{ readonly what: string; readonly error: unknown }>
}

/**
 * Code by SHA-512 digest. A digest names immutable content, so what a backend learns of one may be
 * kept forever. Each must pass `test/contract/code-repository.contract.ts`.
 */
export interface CodeRepository {
  /**
   * Takes code from an API body: checks its size, turns inline source into a one-file zip,
   * extracts and checks the archive, and checks that the handler's module is in it (INVALID_CODE;
   * CODE_TOO_LARGE past a limit or the quota). The digest stays pinned until `release` or 10 minutes.
   */
  ingest(
    input: CodeInput,
    family: RuntimeFamily,
    handler: string,
    options?: IngestOptions,
  ): Promise<StoredCode>
  /** Takes a zip that is not function code (a dependency package): the same checks, no handler. */
  ingestArchive(
    bytes: Buffer,
    options?: IngestOptions,
  ): Promise<{ digest: string; size: number; unzippedSize: number }>
  /** Ends one ingest's hold on `digest`: the row that references it is written (or never will be). */
  release(digest: string): void
  /** Where the extracted tree of `digest` is (check it with `verify` before running it). */
  treePath(digest: string): string
  /** The stored package. */
  readPackage(digest: string): Promise<Buffer>
  /** Bytes of the files `digest` extracts to (0 when it is not stored). */
  unzippedSize(digest: string): Promise<number>
  /** The tree's path once its files match their manifest; CODE_INTEGRITY otherwise. */
  verify(digest: string): Promise<string>
  /**
   * Removes what `referenced()` does not name and no ingest holds; a tree that cannot be removed
   * is reported in `failures`. Collections run one at a time.
   */
  collectGarbage(referenced: () => Promise<ReadonlySet<string>>): Promise<CodeCollection>
}
