/**
 * CPU time per request of each process under load: Strato's own process, its function instances
 * (everything it started, sandbox helpers included) and the load generator. On a 2-core machine
 * req/s alone hides where the time goes; these say which process a change has to make cheaper.
 * Linux only (/proc); elsewhere every figure is NaN.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'

const TICKS_PER_S = 100 // USER_HZ: what /proc/<pid>/stat counts in, on every Linux we run on

/** utime and stime of a process in ticks, or undefined once it is gone. */
function ticksOf(pid: number): { user: number; sys: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(fields[11]), sys: Number(fields[12]) }
  } catch {
    return undefined
  }
}

/** Every process below `root` (not `root` itself). */
export function descendantsOf(root: number): number[] {
  let out: string
  try {
    out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
  } catch {
    return []
  }
  const children = new Map<number, number[]>()
  for (const line of out.trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number)
    if (pid !== undefined && ppid !== undefined) {
      const list = children.get(ppid) ?? []
      list.push(pid)
      children.set(ppid, list)
    }
  }
  const found: number[] = []
  const stack = [...(children.get(root) ?? [])]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    found.push(pid)
    stack.push(...(children.get(pid) ?? []))
  }
  return found
}

export interface CpuPerRequest {
  /** Strato's own process (API, gateway, scheduler), user + system. */
  readonly stratoUs: number
  /** Of which system time (syscalls; on this VM mostly cross-CPU wake-ups). */
  readonly stratoSysUs: number
  /** All of Strato's child processes together: function instances and their sandbox. */
  readonly instancesUs: number
  /** This process: the load generator. */
  readonly loadGeneratorUs: number
}

/**
 * Starts counting; call the result with the number of requests served to get µs per request.
 * Instances started while counting are missed (their time before the first sample): warm up first.
 */
export function countCpu(stratoPid: number): (requests: number) => CpuPerRequest {
  const pids = descendantsOf(stratoPid)
  const strato0 = ticksOf(stratoPid)
  const instances0 = new Map(pids.map((p) => [p, ticksOf(p)]))
  const self0 = process.cpuUsage()
  return (requests) => {
    const perRequest = (ticks: number): number =>
      requests === 0 ? Number.NaN : (ticks * 1e6) / TICKS_PER_S / requests
    const strato1 = ticksOf(stratoPid)
    let instances = 0
    for (const [pid, before] of instances0) {
      const after = ticksOf(pid)
      if (before !== undefined && after !== undefined) {
        instances += after.user + after.sys - before.user - before.sys
      }
    }
    const self = process.cpuUsage(self0)
    const ok = strato0 !== undefined && strato1 !== undefined && os.platform() === 'linux'
    return {
      stratoUs: ok ? perRequest(strato1.user + strato1.sys - strato0.user - strato0.sys) : NaN,
      stratoSysUs: ok ? perRequest(strato1.sys - strato0.sys) : NaN,
      instancesUs: ok ? perRequest(instances) : NaN,
      loadGeneratorUs: requests === 0 ? NaN : (self.user + self.system) / requests,
    }
  }
}

/** `strato 61 (sys 20) + instances 33 + load 22 µs/req`, for a result line. */
export function formatCpu(c: CpuPerRequest): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : 'n/a')
  return `strato ${f(c.stratoUs)} (sys ${f(c.stratoSysUs)}) + instances ${f(c.instancesUs)} + load ${f(c.loadGeneratorUs)} µs/req`
}
