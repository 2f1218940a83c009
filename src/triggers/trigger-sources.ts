/**
 * @module The registered trigger sources, run together: each gets its context, hears the changes
 * of its own types through the change feed, and stops with the others.
 */
import type { RequestVerifier } from '../auth/index.js'
import {
  DEFAULT_ASYNC_SETTINGS,
  StratoError,
  acceptAsyncEvent,
  type AsyncInvokeConfig,
  type AsyncQueue,
  type NewAsyncEvent,
  type FunctionRecord,
  type FunctionResolver,
  type Invoker,
  type TriggerChange,
  type TriggerChangeFeed,
  type TriggerRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import type {
  TriggerCursors,
  OwnAttempts,
  OwnOutcome,
  TriggerHealth,
  TriggerHealthReport,
  TriggerSource,
  TriggerSourceContext,
} from './trigger-source.js'

/**
 * Slice of the trigger repository the sources read: active triggers by type, changes, and the
 * sources' cursors.
 */
export interface TriggerCatalog extends TriggerChangeFeed, TriggerCursors {
  listActive(types: readonly TriggerTypeCode[]): Promise<TriggerRecord[]>
}

/** What the sources are built on; `main.ts` passes the store, the pool and the verifier. */
export interface TriggerSourceDeps {
  readonly triggers: TriggerCatalog
  readonly functions: FunctionResolver
  readonly invoker: Invoker
  readonly asyncQueue: Pick<AsyncQueue, 'enqueue'>
  readonly verifier: RequestVerifier
  readonly authClockSkewMs: number
  readonly logger: Logger
  /** What `OwnAttempts` is made of: the async subsystem's config, backoff and end of an event. */
  readonly ownAttempts: OwnAttemptDeps
}

/** Slices of the async subsystem, passed by `build-strato.ts`. */
export interface OwnAttemptDeps {
  configOf(
    functionId: string,
    qualifier: string,
  ): Promise<Pick<AsyncInvokeConfig, 'maxAsyncRetryAttempts' | 'maxAsyncEventAgeS'> | undefined>
  readonly retryPolicy: {
    functionErrorDelayMs(failures: number): number
    systemErrorDelayMs(failures: number): number
  }
  /** The async subsystem's terminal settlement of the event, recorded by the queue (`record`). */
  end(
    event: NewAsyncEvent,
    ran: { readonly attempts: number; readonly startedAtMs: number },
    outcome: OwnOutcome,
  ): Promise<void>
}

function ownAttemptsOf(deps: OwnAttemptDeps): OwnAttempts {
  return {
    async settings(trigger) {
      const config = await deps.configOf(trigger.functionId, trigger.qualifier)
      return {
        maxRetries: config?.maxAsyncRetryAttempts ?? DEFAULT_ASYNC_SETTINGS.maxAsyncRetryAttempts,
        maxEventAgeMs:
          (config?.maxAsyncEventAgeS ?? DEFAULT_ASYNC_SETTINGS.maxAsyncEventAgeS) * 1000,
      }
    },
    retryDelayMs: (kind, failures) =>
      kind === 'function'
        ? deps.retryPolicy.functionErrorDelayMs(failures)
        : deps.retryPolicy.systemErrorDelayMs(failures),
    settle: (trigger, event, outcome) =>
      deps.end(
        {
          requestId: event.requestId,
          projectId: trigger.projectId,
          functionId: trigger.functionId,
          functionUrn: trigger.functionUrn,
          qualifier: trigger.qualifier,
          payload: event.payload,
          acceptedAtMs: event.acceptedAtMs,
          timeoutMs: 0,
          triggerId: trigger.id,
        },
        { attempts: event.attempts, startedAtMs: event.startedAtMs },
        outcome,
      ),
  }
}

export class TriggerSources {
  readonly #sources: readonly TriggerSource[]
  readonly #deps: TriggerSourceDeps
  /** Sources whose `start` was called: only they hear changes. */
  readonly #started = new Set<TriggerSource>()
  #unsubscribe: (() => void) | undefined
  /**
   * Health is live state of this node's consumers, not stored: after a restart a source reports
   * again as it reconnects. Forgotten when the trigger is deleted.
   */
  readonly #health = new Map<string, TriggerHealth>()

  /** Refuses two sources serving one type: a trigger must fire once. */
  constructor(sources: readonly TriggerSource[], deps: TriggerSourceDeps) {
    const seen = new Set<TriggerTypeCode>()
    for (const type of sources.flatMap((s) => s.types)) {
      if (seen.has(type)) {
        throw new StratoError('INTERNAL', `Two trigger sources serve ${type}.`)
      }
      seen.add(type)
    }
    this.#sources = sources
    this.#deps = deps
  }

  /** Starts every source in order; resolves once all have (the gateway listens). */
  async start(): Promise<void> {
    // Subscribed first: a change while a source loads its triggers makes it load them again.
    this.#unsubscribe ??= this.#deps.triggers.onChange((change) => this.#deliver(change))
    for (const source of this.#sources) {
      this.#started.add(source)
      await source.start(this.#contextFor(source))
    }
  }

  /** Stops hearing changes, then stops every source at once. */
  async stop(): Promise<void> {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    await Promise.all(this.#sources.map((s) => s.stop()))
  }

  /**
   * Every started source that can reads its triggers again: changes announced by other nodes
   * may have been missed (called on a cluster resync). A failure is logged, never thrown.
   */
  async resync(): Promise<void> {
    await Promise.all(
      [...this.#started].map(async (source) => {
        try {
          await source.resync?.()
        } catch (err) {
          this.#deps.logger.error({ err, types: source.types }, 'a trigger source failed to resync')
        }
      }),
    )
  }

  /** A trigger's health as its source last reported it (`ok` when it never did). */
  healthOf(triggerId: string): TriggerHealth {
    return this.#health.get(triggerId) ?? { health: 'ok' }
  }

  #reportHealth(triggerId: string, report: TriggerHealthReport): void {
    const previous = this.#health.get(triggerId)
    if (report.ok) {
      if (previous?.health === 'failing') {
        this.#deps.logger.info({ trigger: triggerId }, 'a trigger recovered')
      }
      this.#health.set(triggerId, { health: 'ok', lastError: previous?.lastError })
      return
    }
    if (previous?.health !== 'failing' || previous.lastError?.message !== report.error) {
      this.#deps.logger.warn({ trigger: triggerId, error: report.error }, 'a trigger is failing')
    }
    this.#health.set(triggerId, {
      health: 'failing',
      lastError: { message: report.error, at: new Date().toISOString() },
    })
  }

  #deliver(change: TriggerChange): void {
    if (change.kind === 'deleted') {
      this.#health.delete(change.trigger.id)
    }
    for (const source of this.#started) {
      if (!source.types.includes(change.trigger.typeCode)) {
        continue
      }
      try {
        source.onChange(change)
      } catch (err) {
        // The store calls this after its write: a source's fault must not fail the API request.
        this.#deps.logger.error(
          { err, trigger: change.trigger.id },
          'a trigger source failed a change',
        )
      }
    }
  }

  #contextFor(source: TriggerSource): TriggerSourceContext {
    const { triggers, asyncQueue } = this.#deps
    return {
      loadTriggers: () => triggers.listActive(source.types),
      functions: this.#deps.functions,
      invoker: this.#deps.invoker,
      acceptAsync: (
        trigger: TriggerRecord,
        fn: FunctionRecord,
        requestId: string,
        payload: Buffer,
        traceparent?: string,
      ) =>
        acceptAsyncEvent(asyncQueue, trigger, {
          requestId,
          payload,
          timeoutS: fn.timeoutS,
          triggerId: trigger.id,
          ...(traceparent === undefined ? {} : { traceparent }),
        }),
      cursors: triggers,
      verifier: this.#deps.verifier,
      authClockSkewMs: this.#deps.authClockSkewMs,
      logger: this.#deps.logger,
      reportHealth: (triggerId, report) => this.#reportHealth(triggerId, report),
      ownAttempts: ownAttemptsOf(this.#deps.ownAttempts),
    }
  }
}
