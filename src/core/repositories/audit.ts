/**
 * @module The audit trail repository port: management calls, append-only, read newest first by
 * project (ListTraces) and in order as a feed (the CTS trigger).
 */
import type { AuditRecord, AuditResourceType, AuditTraceRating } from '../audit.js'

/** ListTraces' filters; every field but `projectId` and `limit` is optional. */
export interface AuditTraceQuery {
  readonly projectId: string
  readonly fromMs?: number | undefined
  readonly toMs?: number | undefined
  readonly resourceType?: AuditResourceType | undefined
  readonly resourceName?: string | undefined
  readonly resourceId?: string | undefined
  readonly traceName?: string | undefined
  readonly traceRating?: AuditTraceRating | undefined
  readonly traceId?: string | undefined
  /** The access key (CTS `user`). */
  readonly user?: string | undefined
  /** Only records older than this one (a `marker` a previous page returned: its trace id). */
  readonly beforeTraceId?: string | undefined
  readonly limit: number
}

/** A record as the feed hands it out: with its position, to read on after it. */
export interface FedAuditRecord {
  /** Opaque; later records have later positions. */
  readonly position: string
  readonly record: AuditRecord
}

/** Port: a project's records in the order they were recorded (CTS trigger subscriptions). */
export interface AuditFeed {
  /**
   * Records of `projectId` after `after` (a position an earlier read returned; undefined for the
   * first read) at or after `sinceMs`, oldest first, at most `limit`. Includes what was appended
   * but not yet written.
   */
  readAfter(
    projectId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedAuditRecord[]>
}

/**
 * The audit trail. `append` is called as API answers go out: it only queues (no I/O, no promise);
 * a backend writes in batches. Records are never changed; they go only by age (`prune`). Each
 * backend must pass `test/contract/audit-trail-repository.contract.ts`.
 */
export interface AuditTrailRepository extends AuditFeed {
  append(record: AuditRecord): void
  /** Makes every record appended so far durable before it returns: shutdown and tests. */
  flush(): void
  /**
   * Newest first, with the filters; `more` says whether older matches exist past `limit`.
   * An unknown `beforeTraceId` is `INVALID_PARAMETER`.
   */
  list(query: AuditTraceQuery): Promise<{ records: AuditRecord[]; more: boolean }>
  /** Deletes records older than `before` (retention). */
  prune(before: Date): Promise<void>
}
