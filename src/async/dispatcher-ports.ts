/**
 * @module What `AsyncDispatcher` needs besides core's `AsyncQueue` and `Invoker` ports, declared as
 * slices: `main.ts` injects the invocation log store and the API's URN resolution; the
 * dispatcher's unit tests inject fakes.
 */
import type { AsyncInvokeConfig, FunctionRecord, InvocationRecord } from '../core/index.js'

/** A function URN resolved for one attempt: the record to run and where it came from. */
export interface AsyncTarget {
  /** The record to run: `latest` or a published version's snapshot (an alias already routed). */
  readonly fn: FunctionRecord
  /** The alias the URN named ('' for none). */
  readonly alias: string
  /** `latest`, the version or `!alias`, as the URN named it. */
  readonly qualifier: string
  /** The URN with its qualifier, 8 fields. */
  readonly functionUrn: string
}

/** Resolves a URN within a project; throws StratoError FUNCTION/VERSION/ALIAS_NOT_FOUND. */
export type ResolveAsyncTarget = (projectId: string, functionUrn: string) => Promise<AsyncTarget>

/** The async invoke config of a function's qualifier, undefined for the defaults. */
export type AsyncConfigOf = (
  functionId: string,
  qualifier: string,
) => Promise<AsyncInvokeConfig | undefined>

/** Where the dispatcher records attempts the invoker could not (the invocation log store). */
export interface AttemptLog {
  append(record: InvocationRecord, projectId: string, functionId: string): void
}
