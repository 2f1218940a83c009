/**
 * @module Per-instance cgroups (v1: memory, pids, cpu). Each instance gets fresh groups under
 * `<controller>/strato/<scope>/<instanceId>`, where `scope` names one data dir, so two Stratos on
 * one machine never touch each other's groups and a restart reaps exactly its own leftovers.
 *
 * A process joins its groups once, in the launch wrapper, before any of the function's code runs
 * (joining costs ~10 ms per controller on cgroup v1, so never per invocation).
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'

const ROOT = '/sys/fs/cgroup'
export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu'] as const
type Controller = (typeof CGROUP_CONTROLLERS)[number]

export interface CgroupLimits {
  readonly memoryBytes: number
  readonly pids: number
  /** FunctionGraph's CPU millicores; becomes a proportional `cpu.shares` weight. */
  readonly cpuMillicores: number
}

/** Counters that classify an instance's death or failure. */
export interface CgroupEvents {
  readonly oomKills: number
  readonly pidsLimitHits: number
}

function readNumberAfter(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text)
  return m?.[1] === undefined ? 0 : Number(m[1])
}

/** The cgroups of one instance. */
export class InstanceCgroup {
  readonly #dirs: Readonly<Record<Controller, string>>

  constructor(dirs: Readonly<Record<Controller, string>>) {
    this.#dirs = dirs
  }

  /** The `cgroup.procs` files a launch wrapper writes its own pid into. */
  procsFiles(): string[] {
    return CGROUP_CONTROLLERS.map((c) => path.join(this.#dirs[c], 'cgroup.procs'))
  }

  /** Sets the limits; called at creation and again when a pre-started cell is specialised. */
  apply(limits: CgroupLimits): void {
    const mem = this.#dirs.memory
    const bytes = String(limits.memoryBytes)
    // memsw (memory + swap) must stay ≥ memory: order the writes by direction of the change.
    const memsw = path.join(mem, 'memory.memsw.limit_in_bytes')
    const hasMemsw = fs.existsSync(memsw)
    const current = Number(fs.readFileSync(path.join(mem, 'memory.limit_in_bytes'), 'utf8'))
    if (hasMemsw && limits.memoryBytes > current) {
      fs.writeFileSync(memsw, bytes)
    }
    fs.writeFileSync(path.join(mem, 'memory.limit_in_bytes'), bytes)
    if (hasMemsw) {
      fs.writeFileSync(memsw, bytes)
    }
    fs.writeFileSync(path.join(this.#dirs.pids, 'pids.max'), String(limits.pids))
    fs.writeFileSync(
      path.join(this.#dirs.cpu, 'cpu.shares'),
      String(Math.max(2, Math.round((limits.cpuMillicores * 1024) / 1000))),
    )
  }

  events(): CgroupEvents {
    const read = (c: Controller, file: string): string => {
      try {
        return fs.readFileSync(path.join(this.#dirs[c], file), 'utf8')
      } catch {
        return ''
      }
    }
    return {
      oomKills: readNumberAfter(read('memory', 'memory.oom_control'), 'oom_kill'),
      pidsLimitHits: readNumberAfter(read('pids', 'pids.events'), 'max'),
    }
  }

  /** Peak memory of the instance, in MB. */
  peakMemoryMb(): number {
    try {
      return (
        Number(fs.readFileSync(path.join(this.#dirs.memory, 'memory.max_usage_in_bytes'), 'utf8')) /
        1048576
      )
    } catch {
      return 0
    }
  }

  /** Kills every process still in the groups, then removes them (retried while the kernel lags). */
  async destroy(): Promise<void> {
    await removeCgroupDirs(Object.values(this.#dirs))
  }
}

function killMembers(dir: string): number {
  let members: string[]
  try {
    members = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')
  } catch {
    return 0
  }
  let n = 0
  for (const pid of members) {
    if (pid !== '') {
      try {
        process.kill(Number(pid), 'SIGKILL')
        n++
      } catch {
        // already gone
      }
    }
  }
  return n
}

async function removeCgroupDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      killMembers(dir)
      try {
        await fsp.rmdir(dir)
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT') {
          break
        }
        // EBUSY while dying processes leave the group; give up after ~5 s and let the next
        // start's reaper finish the job.
        if (attempt >= 50) {
          throw err
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
}

/** Creates and reaps the cgroups of one data dir's instances. */
export class CgroupManager {
  readonly #scope: string

  private constructor(scope: string) {
    this.#scope = scope
  }

  /** A manager when cgroup v1 memory, pids and cpu are mounted and writable; else why not. */
  static probe(scope: string): CgroupManager | string {
    for (const c of CGROUP_CONTROLLERS) {
      const dir = path.join(ROOT, c, 'strato', scope)
      try {
        fs.mkdirSync(dir, { recursive: true })
        fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK)
      } catch (err) {
        return `cgroup v1 '${c}' is not usable (${(err as Error).message})`
      }
    }
    return new CgroupManager(scope)
  }

  #dir(c: Controller, instanceId: string): string {
    return path.join(ROOT, c, 'strato', this.#scope, instanceId)
  }

  create(instanceId: string, limits: CgroupLimits): InstanceCgroup {
    const dirs = {} as Record<Controller, string>
    for (const c of CGROUP_CONTROLLERS) {
      dirs[c] = this.#dir(c, instanceId)
      fs.mkdirSync(dirs[c])
    }
    const group = new InstanceCgroup(dirs)
    group.apply(limits)
    return group
  }

  /** Kills and removes every group of this scope: what a crashed run left behind. Returns their instance ids. */
  async reapAll(): Promise<string[]> {
    const dirs: string[] = []
    for (const c of CGROUP_CONTROLLERS) {
      const scopeDir = path.join(ROOT, c, 'strato', this.#scope)
      if (!fs.existsSync(scopeDir)) {
        continue
      }
      for (const id of fs.readdirSync(scopeDir, { withFileTypes: true })) {
        if (id.isDirectory()) {
          dirs.push(path.join(scopeDir, id.name))
        }
      }
    }
    await removeCgroupDirs(dirs)
    return [...new Set(dirs.map((d) => path.basename(d)))]
  }

  /** Removes the scope's own dirs (after every instance is gone); what remains is reaped later. */
  async close(): Promise<void> {
    await this.reapAll().catch(() => undefined)
    for (const c of CGROUP_CONTROLLERS) {
      await fsp.rmdir(path.join(ROOT, c, 'strato', this.#scope)).catch(() => undefined)
    }
  }

  /** Groups of this scope that exist now (for tests and the info endpoint). */
  list(): string[] {
    return fs
      .readdirSync(path.join(ROOT, 'memory', 'strato', this.#scope), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  }
}
