/**
 * @module An instance's peak memory. Where no guest frame says what the function used (HTTP
 * functions, failed loads and initializers, timeouts, deaths) it is the instance cgroup's peak,
 * which counts every process of the instance; without a cgroup (below the bubblewrap and unshare
 * levels) what the guest reported, if anything.
 */
import type { InstanceCgroup } from './cgroups.js'

export class MemoryGauge {
  readonly #cgroup: InstanceCgroup | undefined
  /** The last peak read (MB), kept for readings after the cgroup is gone. */
  #peakMb = 0
  #readAt = 0

  constructor(cgroup: InstanceCgroup | undefined) {
    this.#cgroup = cgroup
  }

  /** Reads the cgroup's peak now; `guestMb` counts only without a cgroup reading. */
  read(guestMb?: unknown): number {
    const peak = this.#cgroup?.peakMemoryMb() ?? 0
    if (peak > 0) {
      this.#peakMb = peak
    } else if (typeof guestMb === 'number' && Number.isFinite(guestMb) && guestMb > 0) {
      this.#peakMb = guestMb
    }
    return this.#peakMb
  }

  /**
   * The peak for a warm HTTP response: read from the cgroup at most once a second, so a busy
   * instance does not pay three syscalls per request for a figure that only ever grows.
   */
  recent(): number {
    const now = performance.now()
    if (now - this.#readAt >= 1000 || this.#peakMb === 0) {
      this.#readAt = now
      return this.read()
    }
    return this.#peakMb
  }
}
