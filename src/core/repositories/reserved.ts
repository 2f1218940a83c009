/**
 * @module The reserved-instance config repository port: one config per function version or alias.
 */
import type {
  ReservedInstanceConfig,
  ReservedInstanceInput,
  ReservedTarget,
} from '../reserved-instances.js'

/**
 * Durable reservations. The scheduler re-establishes every one of them at start (`listAll`), so a
 * backend answers it without paging. Each must pass
 * `test/contract/reserved-instance-repository.contract.ts`.
 */
export interface ReservedInstanceRepository {
  get(functionId: string, qualifier: string): Promise<ReservedInstanceConfig | undefined>
  /** Creates or replaces. */
  put(target: ReservedTarget, input: ReservedInstanceInput): Promise<ReservedInstanceConfig>
  /** True when there was one to delete. */
  delete(functionId: string, qualifier: string): Promise<boolean>
  /** A project's configs, by function then qualifier. */
  listOf(projectId: string): Promise<ReservedInstanceConfig[]>
  /** Every config of every project, for the scheduler's start. */
  listAll(): Promise<ReservedInstanceConfig[]>
  deleteAllOf(functionId: string): Promise<void>
}
