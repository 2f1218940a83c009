/**
 * Load with autocannon: an unmeasured warm-up, then the measured run, optionally counting the CPU
 * that a server process and everything it started spend per request (`process-cpu.ts`).
 */
import autocannon from 'autocannon'
import { countCpu, type CpuPerRequest } from './process-cpu.js'

export interface LoadTiming {
  /** Seconds of load before measuring (none when 0). */
  readonly warmupS: number
  readonly durationS: number
  /** Count the CPU per request of this process and its descendants while measuring. */
  readonly cpuOfPid?: number
}

export interface LoadRun {
  readonly result: autocannon.Result
  readonly cpu: CpuPerRequest | undefined
}

export async function runLoad(
  options: autocannon.Options,
  timing: LoadTiming & { readonly cpuOfPid: number },
): Promise<LoadRun & { readonly cpu: CpuPerRequest }>
export async function runLoad(options: autocannon.Options, timing: LoadTiming): Promise<LoadRun>
export async function runLoad(options: autocannon.Options, timing: LoadTiming): Promise<LoadRun> {
  if (timing.warmupS > 0) {
    await autocannon({ ...options, duration: timing.warmupS })
  }
  const cpu = timing.cpuOfPid === undefined ? undefined : countCpu(timing.cpuOfPid)
  const result = await autocannon({ ...options, duration: timing.durationS })
  return { result, cpu: cpu?.(result.requests.total) }
}
