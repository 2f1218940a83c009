/**
 * @module The "collected" (favourite) mark of functions: `PUT …/collect/{true|false}`.
 */
export interface FunctionCollectRepository {
  set(functionId: string, collected: boolean): Promise<void>
  /** The ids among `functionIds` that are collected. */
  collectedOf(functionIds: readonly string[]): Promise<Set<string>>
}
