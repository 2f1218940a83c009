/**
 * @module What the API is built from; main.ts supplies real implementations, tests the same.
 */
import type { Config } from '../config/index.js'
import type { AsyncQueue, Invoker, ServedTriggerTypes, TriggerHealth } from '../core/index.js'
import type { RequestVerifier } from '../auth/index.js'
import type { Logger, Tracing } from '../observability/index.js'
import type { FunctionLifecycleService, ResolutionService } from '../services/index.js'
import type { Store } from '../store/index.js'

export interface ApiDeps {
  readonly config: Config
  readonly store: Store
  /** Finds the function a route's URN names (reads, invocations, changes). */
  readonly resolution: ResolutionService
  /** Creates, changes and deletes functions, versions and aliases. */
  readonly lifecycle: FunctionLifecycleService
  readonly invoker: Invoker
  /** Spans of async accepts (the invoker traces invocations itself). */
  readonly tracing?: Pick<Tracing, 'accept'>
  /** Where accepted async events go (the store's embedded queue, or a broker's). */
  readonly asyncQueue: AsyncQueue
  readonly verifier: RequestVerifier
  readonly logger: Logger
  /** Frees code nothing references any more, in the background (after dependency deletes). */
  readonly collectUnusedCode?: () => void
  /** The registered trigger sources: the types a trigger may be created with, and their checks. */
  readonly servedTriggerTypes: readonly ServedTriggerTypes[]
  /** A trigger's health as its source reported it on this node (`ok` when absent or unknown). */
  readonly triggerHealth?: (triggerId: string) => TriggerHealth
  /** The API gateway's base URL once it listens (for triggers' `invoke_url`). */
  readonly gatewayUrl?: () => string | undefined
  /** Platform facts for GET /strato/info (isolation level, interpreters, instance counts). */
  readonly info: () => Record<string, unknown>
}
