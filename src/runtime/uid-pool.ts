/**
 * @module Unprivileged host uids for instances. Every live instance has a uid of its own, so no
 * instance can signal, trace or read the files of another, even outside the namespaces; a uid is
 * handed out again only after its instance and all its processes are gone.
 */
import { StratoError } from '../core/index.js'

export class UidPool {
  readonly #base: number
  readonly #size: number
  readonly #free: number[] = []
  #next = 0

  constructor(base: number, size: number) {
    this.#base = base
    this.#size = size
  }

  acquire(): number {
    const reused = this.#free.pop()
    if (reused !== undefined) {
      return reused
    }
    if (this.#next >= this.#size) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `All ${this.#size} sandbox uids are in use; no further instance can start.`,
      )
    }
    return this.#base + this.#next++
  }

  /** Called only once every process of the instance is gone (its cgroup is removed). */
  release(uid: number): void {
    this.#free.push(uid)
  }
}
