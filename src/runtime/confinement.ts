/**
 * @module The pieces every sandbox level's plan is built from: the limits, the paths a bubblewrap
 * sandbox shows, the launch wrappers (cgroup join, privilege drop, rlimits), the host-filesystem
 * plan of the weak levels, `confine` (a fresh cgroup and uid, given back if building fails) and
 * `UidConfinedSandbox`, what the levels with cgroups and their own uids share.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { CgroupManager, InstanceCgroup } from './cgroups.js'
import type { CellPlan, CellRequest, SandboxOptions } from './sandbox.js'
import { UidPool } from './uid-pool.js'
import { reserveUidRange, type UidRange, type UidRangeReservation } from './uid-range-registry.js'

export const MIB = 1024 * 1024
/** FunctionGraph gives every instance 512 MB of ephemeral /tmp; tmpfs pages count as memory. */
export const TMP_BYTES = 512 * MIB
export const SHM_BYTES = 64 * MIB
export const OPEN_FILES = 2048
export const PROCESSES = 1024
/** Where code, dependencies and Strato's guest runtimes appear inside a bubblewrap sandbox. */
export const SANDBOX_CODE_ROOT = '/opt/function/code'
export const SANDBOX_DEPENDENCY_ROOT = '/opt/function/dependencies'
export const SANDBOX_GUEST_DIR = '/opt/function/runtime/strato'

export function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file)
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
}

/** The dirs between `root` (excluded) and `file` (excluded), outermost first. */
export function ancestorsBelow(root: string, file: string): string[] {
  const out: string[] = []
  for (let d = path.dirname(file); d !== root && d !== '/'; d = path.dirname(d)) {
    out.unshift(d)
  }
  return out
}

/**
 * A plan whose guest sees the host's filesystem: code and dependencies in the instance dir and a
 * private `tmp` there (its HOME and TMPDIR). The caller has made the three dirs.
 */
export function hostFilesystemPlan(
  request: CellRequest,
  command: string,
  args: readonly string[],
): Omit<CellPlan, 'cgroup' | 'uid' | 'release'> {
  const tmp = path.join(request.instanceDir, 'tmp')
  return {
    command,
    args,
    cwd: path.join(request.instanceDir, 'code'),
    env: { ...request.env, HOME: tmp, TMPDIR: tmp },
    extraFiles: [],
    paths: {
      codeRoot: path.join(request.instanceDir, 'code'),
      dependencyRoot: path.join(request.instanceDir, 'deps'),
      tmpDir: tmp,
    },
  }
}

/**
 * The plan of the weak levels: the guest sees the host's filesystem, its code and dependencies in
 * the instance dir, a private `tmp` there, and runs as Strato's own user.
 */
export function hostPlan(request: CellRequest, command: string, args: readonly string[]): CellPlan {
  for (const sub of ['code', 'deps', 'tmp']) {
    fs.mkdirSync(path.join(request.instanceDir, sub), { mode: sub === 'tmp' ? 0o700 : 0o755 })
  }
  return {
    ...hostFilesystemPlan(request, command, args),
    cgroup: undefined,
    uid: undefined,
    release: () => Promise.resolve(),
  }
}

/**
 * Builds a plan inside a fresh cgroup and uid, and gives both back if building fails; the plan's
 * `release` removes the cgroup (killing what is left in it) and returns the uid.
 */
export function confine(
  cgroups: CgroupManager,
  uids: UidPool,
  request: CellRequest,
  build: (cgroup: InstanceCgroup, uid: number) => Omit<CellPlan, 'cgroup' | 'uid' | 'release'>,
): CellPlan {
  const uid = uids.acquire()
  let cgroup: InstanceCgroup | undefined
  try {
    cgroup = cgroups.create(request.instanceId, {
      memoryBytes: request.memoryBytes,
      pids: PROCESSES,
      cpuMillicores: request.cpuMillicores,
    })
    const owned = cgroup
    return {
      ...build(owned, uid),
      cgroup: owned,
      uid,
      release: async (keepUid = false) => {
        await owned.destroy()
        // Only now: a group that could not be emptied may still hold processes of this uid, and
        // the uid then stays taken rather than go to another instance.
        if (!keepUid) {
          uids.release(uid)
        }
      },
    }
  } catch (err) {
    void cgroup?.destroy().catch(() => undefined)
    uids.release(uid)
    throw err
  }
}

/** The launch wrapper: joins the cgroups, then becomes the next command (no shell stays around). */
export function joinCgroupsThen(cgroup: InstanceCgroup, argv: readonly string[]): string[] {
  const joins = cgroup
    .procsFiles()
    .map((f) => `echo $$ > ${f}`)
    .join(' && ')
  return ['/bin/sh', '-c', `${joins} && exec "$@"`, 'strato-cell', ...argv]
}

export function dropPrivileges(setpriv: string, uid: number, argv: readonly string[]): string[] {
  return [
    setpriv,
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
    ...argv,
  ]
}

/**
 * `nproc` only where no pids cgroup counts processes: it is per uid and counts threads, so beside
 * a cgroup it would only fire first and hide which limit was reached.
 */
export function rlimits(
  prlimit: string,
  argv: readonly string[],
  extra: { addressSpace?: number; processes?: number } = {},
): string[] {
  return [
    prlimit,
    `--nofile=${OPEN_FILES}`,
    '--core=0',
    ...(extra.processes === undefined ? [] : [`--nproc=${extra.processes}`]),
    ...(extra.addressSpace === undefined ? [] : [`--as=${extra.addressSpace}`]),
    '--',
    ...argv,
  ]
}

/**
 * What the levels with cgroups and per-instance uids share: the host-wide uid range (reserved
 * last in construction, so a failed constructor leaves none held), the cgroup manager, reaping
 * a crashed run's cgroups, and closing both.
 */
export abstract class UidConfinedSandbox {
  readonly #cgroups: CgroupManager
  readonly #uids: UidPool
  readonly #uidReservation: UidRangeReservation

  /** Call once nothing else in the subclass's construction can fail. */
  protected constructor(cgroups: CgroupManager, uids: SandboxOptions['uids']) {
    this.#cgroups = cgroups
    this.#uidReservation = reserveUidRange(uids)
    this.#uids = new UidPool(this.#uidReservation.range.first, this.#uidReservation.range.count)
  }

  get uids(): UidRange {
    return this.#uidReservation.range
  }

  reapLeftovers(): Promise<string[]> {
    return this.#cgroups.reapAll()
  }

  async close(): Promise<void> {
    try {
      await this.stopLevel()
      await this.#cgroups.close()
    } finally {
      this.#uidReservation.release()
    }
  }

  /** What the level itself runs beside its instances, stopped before the cgroups go. */
  protected stopLevel(): Promise<void> {
    return Promise.resolve()
  }

  /** `confine` with this sandbox's cgroups and uids. */
  protected confine(
    request: CellRequest,
    build: (cgroup: InstanceCgroup, uid: number) => Omit<CellPlan, 'cgroup' | 'uid' | 'release'>,
  ): CellPlan {
    return confine(this.#cgroups, this.#uids, request, build)
  }
}
