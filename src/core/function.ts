/**
 * @module The stored function: identity, configuration and code reference.
 */
import type { CodeType, FunctionConfig } from './function-config.js'

/** A function as the store keeps it. `revision` grows with every change of code or config. */
export interface FunctionRecord extends FunctionConfig {
  /** UUID (`func_id`). */
  readonly id: string
  readonly projectId: string
  readonly packageName: string
  readonly name: string
  readonly codeType: CodeType
  readonly codeFilename: string
  readonly codeSize: number
  /** SHA-512 hex of the code package, as FunctionGraph reports `digest`. */
  readonly digest: string
  readonly revision: number
  /** `latest`, or the name of the published version this record is a snapshot of. */
  readonly version: string
  readonly createdAt: Date
  readonly lastModified: Date
}

/** The key under which warm instances of one revision of one version of a function are pooled. */
export function instanceKeyOf(fn: Pick<FunctionRecord, 'id' | 'version' | 'revision'>): string {
  return `${fn.id}:${fn.version}@${fn.revision}`
}

/** Millicores as FunctionGraph derives them from memory: `memory/128*100 + 200` (reference §1.2). */
export function cpuMillicoresOf(memorySizeMb: number): number {
  return Math.round((memorySizeMb / 128) * 100 + 200)
}
