/**
 * @module The port that finds the function a URN names: the API, trigger sources and the async
 * dispatcher resolve through it (the services subsystem implements it over the store), so none of
 * them reads the store or parses URNs for itself.
 */
import type { FunctionRecord } from './function.js'
import type { FunctionRef } from './function-urn.js'

/** What rule-based alias routing may look at: the invocation request's headers and cookies. */
export interface RoutingInput {
  /** A header by its lower-case name. */
  readonly header: (name: string) => string | undefined
  readonly cookie: (name: string) => string | undefined
}

/** A URN resolved within its project. */
export interface ResolvedFunction {
  /** The record to run or show: `latest`, or the snapshot of a published version. */
  readonly fn: FunctionRecord
  /** `latest`, always: the function itself, whatever the URN's qualifier. */
  readonly latest: FunctionRecord
  readonly ref: FunctionRef
  /** The alias the URN named, when it named one. */
  readonly alias: { readonly name: string } | undefined
}

/** Finds functions by URN. */
export interface FunctionResolver {
  /**
   * Resolves `functionUrn` within `projectId` (another project's URN is 403). An unknown function,
   * version or alias is 404 FSS.1051 / FSS.1052 / FSS.1053. With `routing` (invocations), an alias
   * routes by its rules and weights; without, it names its own version.
   */
  resolve(projectId: string, functionUrn: string, routing?: RoutingInput): Promise<ResolvedFunction>
}
