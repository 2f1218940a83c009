/**
 * The part of autocannon's programmatic API the bench uses (the package ships no types).
 */
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string
      method?: string
      headers?: Record<string, string>
      body?: string | Buffer
      connections?: number
      pipelining?: number
      /** Seconds. */
      duration?: number
      /** Seconds a request may take before it counts as a timeout. */
      timeout?: number
      expectBody?: string
    }
    /** Values in ms for latency, per-second samples for requests and throughput. */
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p99: number
    }
    interface Result {
      latency: Histogram
      requests: Histogram
      throughput: Histogram
      /** Seconds, as measured. */
      duration: number
      errors: number
      timeouts: number
      mismatches: number
      non2xx: number
      resets: number
      '2xx': number
      statusCodeStats: Record<string, { count: number }>
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>
  export = autocannon
}
