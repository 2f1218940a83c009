/**
 * @module The trigger repository port: triggers of every type, and the change feed the trigger
 * sources hear them through.
 */
import type {
  TriggerChangeFeed,
  TriggerEventData,
  TriggerInput,
  TriggerRecord,
  TriggerStatus,
  TriggerTypeCode,
} from '../trigger.js'

/** Where a new trigger hangs: a function version or alias. */
export interface TriggerTarget {
  readonly projectId: string
  readonly functionId: string
  readonly qualifier: string
  readonly functionUrn: string
}

/**
 * Triggers, and (`onChange`, the `TriggerChangeFeed` port) every change to them, once per trigger
 * and in order: a backend shared by several nodes delivers other nodes' changes too. Each must pass
 * `test/contract/trigger-repository.contract.ts`.
 */
export interface TriggerRepository extends TriggerChangeFeed {
  /**
   * Creates a trigger: TRIGGER_QUOTA_EXCEEDED past 10 per function version, APIG_TRIGGER_EXISTS
   * for a second trigger of a type with the same `name`, APIG_PATH_EXISTS for an API route another
   * trigger already answers. An APP-authenticated APIG trigger gets an app key and secret.
   */
  create(target: TriggerTarget, input: TriggerInput): Promise<TriggerRecord>
  /** The function's triggers (of one qualifier when given), in creation order. */
  list(functionId: string, qualifier?: string): Promise<TriggerRecord[]>
  /** APIG_TRIGGER_NOT_FOUND / TRIGGER_NOT_FOUND when the function has no such trigger of the type. */
  get(functionId: string, typeCode: string, id: string): Promise<TriggerRecord>
  setStatus(
    functionId: string,
    typeCode: string,
    id: string,
    status: TriggerStatus,
  ): Promise<TriggerRecord>
  /**
   * Replaces a trigger's `event_data` (already checked by its type's source) and, when given, its
   * status; tells the change feed `updated`. The type's not-found code when there is no such trigger.
   */
  update(
    functionId: string,
    typeCode: string,
    id: string,
    change: { readonly status: TriggerStatus; readonly eventData: TriggerEventData },
  ): Promise<TriggerRecord>
  delete(functionId: string, typeCode: string, id: string): Promise<void>
  /** Deletes the triggers of one qualifier, or of the whole function when none is given. */
  deleteAll(functionId: string, qualifier?: string): Promise<void>
  /** Triggers of these types across all functions, `ACTIVE` ones only unless `all`. */
  listActive(types: readonly TriggerTypeCode[], all?: boolean): Promise<TriggerRecord[]>
  /**
   * Where the trigger's source got to (its own format; undefined before it saved any, or when the
   * trigger is gone). Kept with the trigger and deleted with it; not part of `TriggerRecord` nor
   * of the change feed: a save is no change of the trigger.
   */
  cursorOf(id: string): Promise<string | undefined>
  /** Saves the source's progress durably (resolves once it survives a crash); no-op when gone. */
  saveCursor(id: string, cursor: string): Promise<void>
}
