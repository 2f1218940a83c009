/**
 * @module Which functions have snapshot start on (`POST …/snapshots/{enable|disable}`).
 */
export interface SnapshotTarget {
  readonly projectId: string
  readonly functionId: string
}

export interface FunctionSnapshotRepository {
  set(target: SnapshotTarget, enabled: boolean): Promise<void>
  isEnabled(functionId: string): Promise<boolean>
  /** Every function with snapshot start on (re-established at start). */
  listEnabled(): Promise<SnapshotTarget[]>
}
