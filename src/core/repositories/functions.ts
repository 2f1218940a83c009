/**
 * @module The function repository port: functions by project, package and name (`latest` only;
 * published versions live in the version repository).
 */
import type { FunctionConfig } from '../function-config.js'
import type { FunctionRecord } from '../function.js'
import type { StoredCode } from './code.js'

export interface NewFunction {
  readonly projectId: string
  readonly packageName: string
  readonly name: string
  readonly config: FunctionConfig
  readonly code: StoredCode
}

export interface ListFunctionsQuery {
  readonly marker: number
  readonly maxItems: number
  readonly packageName?: string | undefined
  /** Fuzzy (substring) match, as FunctionGraph's `func_name` filter. */
  readonly nameContains?: string | undefined
}

export interface FunctionPage {
  readonly functions: FunctionRecord[]
  readonly nextMarker: number
  readonly count: number
}

/**
 * Functions of every project. `get` is on the invoke path: a backend answers a repeated lookup
 * from memory (a read-through cache it invalidates on every write, its own or another node's).
 * Each must pass `test/contract/function-repository.contract.ts`.
 */
export interface FunctionRepository {
  /**
   * Creates the function with revision 1. Refuses a taken name (FUNCTION_EXISTS) and the
   * project's function quota (FUNCTION_QUOTA_EXCEEDED), checked with the insert as one step.
   * Ends the ingest pin of its code (see `CodeRepository.release`), written or not.
   */
  create(input: NewFunction): Promise<FunctionRecord>
  /** The function, or undefined. */
  get(projectId: string, packageName: string, name: string): Promise<FunctionRecord | undefined>
  /** The function with this `func_id` in the project, or undefined. */
  getById(projectId: string, id: string): Promise<FunctionRecord | undefined>
  /** A page in creation order, with the count of all that match. */
  list(projectId: string, query: ListFunctionsQuery): Promise<FunctionPage>
  /** How many functions the project has. */
  count(projectId: string): Promise<number>
  /** Bytes the code of the project's functions takes: each one's zip plus its unzipped files. */
  totalCodeSize(projectId: string): Promise<number>
  /** Bytes one function's code takes: its zip plus its unzipped files. */
  storedCodeSize(fn: Pick<FunctionRecord, 'codeSize' | 'digest'>): Promise<number>
  /** Writes the configuration; `revision` goes up by 1. FUNCTION_NOT_FOUND if deleted meanwhile. */
  updateConfig(fn: FunctionRecord, config: FunctionConfig): Promise<FunctionRecord>
  /** Writes new code; `revision` goes up by 1; ends the code's ingest pin, written or not. */
  updateCode(fn: FunctionRecord, code: StoredCode): Promise<FunctionRecord>
  /** Deletes the function's own row (what hangs off it is deleted by its own repositories). */
  delete(fn: FunctionRecord): Promise<void>
  /** Every digest some function references, for code garbage collection. */
  referencedDigests(): Promise<Set<string>>
  /** Every runtime some function of any project has (its draft), e.g. to boot stem cells at start. */
  runtimesInUse(): Promise<Set<string>>
}
