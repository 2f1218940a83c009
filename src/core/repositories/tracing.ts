/**
 * @module The tracing switch port (`updateTracing` / `showTracing`, reference §4.6): one per
 * function, off by default, as on FunctionGraph.
 */

/** A function's tracing settings. On FunctionGraph the key pair is the APM account's. */
export interface TracingSettings {
  readonly functionId: string
  /** '' when tracing is off. */
  readonly tracingAk: string
  /** Sealed (never stored in plaintext); '' when none was given. */
  readonly tracingSkSealed: string
  readonly lastModified: Date
}

/**
 * Tracing settings by function; they go when their function is deleted. `isOn` runs for invocations when spans are exported, so a backend
 * answers it from memory once read, misses included. Each must pass
 * `test/contract/tracing-repository.contract.ts`.
 */
export interface TracingRepository {
  /** Whether the function's tracing is on (a key was set): a value when known, else a promise. */
  isOn(functionId: string): boolean | Promise<boolean>
  /** The function's settings, or undefined when tracing was never set. */
  get(functionId: string): Promise<TracingSettings | undefined>
  /** Creates or replaces; an empty `tracingAk` turns tracing off. */
  put(functionId: string, tracingAk: string, tracingSkSealed: string): Promise<TracingSettings>
}
