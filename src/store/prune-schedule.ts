/**
 * @module The store's retention: invocation logs, finished async events and dead letters older
 * than the retention go, at start and then hourly; audit records past their own retention too.
 */
import type { AsyncQueue, AuditTrailRepository } from '../core/index.js'
import type { InvocationLogStore } from './invocation-log-store.js'

/** CTS keeps management traces for 7 days. */
export const DEFAULT_AUDIT_MAX_AGE_MS = 7 * 24 * 3_600_000

export interface PruneScheduleOptions {
  /** How long logs and finished async records are kept (`STRATO_LOG_RETENTION_HOURS`). */
  readonly maxAgeMs: number
  /** How long audit records are kept (`STRATO_AUDIT_RETENTION_DAYS`); 7 days, as CTS, by default. */
  readonly auditMaxAgeMs?: number
  /** A prune that failed; the next one tries again. */
  readonly onError: (err: unknown, what: string) => void
  /** How often to prune after the first time (hourly). */
  readonly everyMs?: number
}

/** Prunes the logs and the async queue by one retention, until stopped (by `store.close()`). */
export class PruneSchedule {
  readonly #logs: Pick<InvocationLogStore, 'prune'>
  readonly #asyncQueue: Pick<AsyncQueue, 'prune'>
  readonly #audit: Pick<AuditTrailRepository, 'prune'> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(
    logs: Pick<InvocationLogStore, 'prune'>,
    asyncQueue: Pick<AsyncQueue, 'prune'>,
    audit?: Pick<AuditTrailRepository, 'prune'>,
  ) {
    this.#logs = logs
    this.#asyncQueue = asyncQueue
    this.#audit = audit
  }

  /** Prunes now, then every `everyMs`; the timer never keeps the process alive. */
  start(options: PruneScheduleOptions): void {
    const prune = (): void => {
      const before = Date.now() - options.maxAgeMs
      this.#logs
        .prune({ before: new Date(before) })
        .catch((err: unknown) => options.onError(err, 'invocation logs'))
      // Finished async records and dead letters follow the same retention as logs.
      this.#asyncQueue.prune(before).catch((err: unknown) => options.onError(err, 'async records'))
      this.#audit
        ?.prune(new Date(Date.now() - (options.auditMaxAgeMs ?? DEFAULT_AUDIT_MAX_AGE_MS)))
        .catch((err: unknown) => options.onError(err, 'audit records'))
    }
    prune()
    clearInterval(this.#timer)
    this.#timer = setInterval(prune, options.everyMs ?? 3_600_000)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
