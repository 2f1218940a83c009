/**
 * @module The usage repository port: requests and GB-seconds per function and hour, the basis of
 * pay-per-use (`listStatistics`' monthly report, `strato usage`). Written in batches, off the
 * invocation path; rows only grow (an hour written twice adds up).
 */

/** What one function used in one hour (UTC). */
export interface UsageHour {
  readonly projectId: string
  readonly functionId: string
  /** `package/name` when the row was written, so usage stays readable after a delete. */
  readonly functionName: string
  /** Start of the hour, ms since the epoch. */
  readonly hourStartMs: number
  readonly requests: number
  /** Memory size (GB) × billed duration (s), summed. */
  readonly gbSeconds: number
}

export interface UsageQuery {
  readonly projectId: string
  /** Hours starting at or after this (inclusive), ms. */
  readonly fromMs: number
  /** Hours starting before this (exclusive), ms. */
  readonly toMs: number
  readonly functionId?: string | undefined
}

export interface UsageRepository {
  /** Adds each row to what its (project, function, hour) already has. */
  add(rows: readonly UsageHour[]): Promise<void>
  /** Matching rows, oldest hour first. */
  list(query: UsageQuery): Promise<UsageHour[]>
}

/** What the async queue holds and has not run yet (events due or waiting for a retry). */
export interface AsyncBacklog {
  backlog(): { readonly waiting: number; readonly oldestAcceptedAtMs: number | undefined }
}
