/**
 * @module What the API is built from; main.ts supplies real implementations, tests the same.
 */
import type { Config } from '../config/index.js'
import type {
  AsyncQueue,
  Invoker,
  ReservedInstanceConfig,
  ServedTriggerTypes,
  TriggerHealth,
  UsageRepository,
} from '../core/index.js'
import type { RequestVerifier } from '../auth/index.js'
import type { FlowEngine } from '../flows/index.js'
import type { FunctionMetrics, Logger, Tracing } from '../observability/index.js'
import type { FunctionLifecycleService, ResolutionService } from '../services/index.js'
import type { Store } from '../store/index.js'

/** One minute's value of a report (`SlaReportsValue`). */
export interface MinuteValue {
  readonly timestamp: number
  readonly value: number
}

/** How a reservation is doing: count in force, instances up or starting, its failure streak. */
export interface ReservationStatus {
  readonly target: number
  readonly ready: number
  readonly failures: number
  readonly lastError: string | undefined
  /** While backing off: the next start (ms since the epoch). */
  readonly retryAt: number | undefined
}

/**
 * What the reserved-instance routes tell the scheduler, and ask it: main.ts hands in the
 * scheduler's `ReservationKeeper`, which satisfies it structurally.
 */
export interface ReservationsPort {
  /** Throws when a cron policy's expression cannot be parsed or never fires. */
  checkCron(expression: string): void
  /** A config was stored: its instances are started (or handed back) now. */
  set(config: ReservedInstanceConfig): Promise<void>
  remove(functionId: string, qualifier?: string): void
  status(functionId: string, qualifier: string): ReservationStatus | undefined
  /** The last hour's instance counts per minute (`showFuncReservedInstanceMetrics`). */
  metricsOf(
    functionId: string,
    nowMs: number,
  ): { instanceNum: MinuteValue[]; reservedInstanceNum: MinuteValue[] }
}

export interface ApiDeps {
  readonly config: Config
  readonly store: Store
  /** Finds the function a route's URN names (reads, invocations, changes). */
  readonly resolution: ResolutionService
  /** Creates, changes and deletes functions, versions and aliases. */
  readonly lifecycle: FunctionLifecycleService
  readonly invoker: Invoker
  /** Reserved instances (absent: configs are stored but nothing keeps instances). */
  readonly reservations?: ReservationsPort
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
  /**
   * Readiness for `/strato/health/ready` (and `/strato/health?ready`): 503 unless ready. Absent:
   * ready whenever the API answers.
   */
  readonly readiness?: () => Promise<{
    readonly ready: boolean
    readonly state?: string
    readonly failing?: readonly string[]
  }>
  /** `cluster` of GET /strato/info: node id, mode, members, the leader. */
  readonly clusterInfo?: () => Promise<Record<string, unknown>>
  /** `/metrics`, the statistics methods and usage; their routes are absent without it. */
  readonly metrics?: MetricsDeps
  /** Runs workflow executions (flows). */
  readonly flowEngine: FlowEngine
}

export interface MetricsDeps {
  /** The Prometheus registry (`prom-client`'s `Registry`). */
  readonly registry: { metrics(): Promise<string>; readonly contentType: string }
  readonly functions: FunctionMetrics
  readonly usage: UsageRepository
}
