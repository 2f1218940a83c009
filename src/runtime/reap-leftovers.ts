/**
 * @module Start-up clean-up after a crashed Strato: kills instance process groups recorded in
 * `<instancesDir>/<id>/pid` and removes the dirs.
 */
import fs from 'node:fs'
import path from 'node:path'
import { readProcessStartTime } from '../core/index.js'
import type { Sandbox } from './sandbox.js'

/** What a start found of a crashed run's instances. */
export interface LeftoverReport {
  /** Instances left over: each counted once, whether it left a dir, cgroups or both. */
  readonly instances: number
  /** Of those, how many left an instance dir. */
  readonly instanceDirs: number
  /** Of those, how many left cgroups. */
  readonly instanceCgroups: number
}

/**
 * Kills and removes what a crashed run's instances left: their process groups and dirs under
 * `instancesDir`, then the sandbox's cgroups of this data dir. An instance dir and its cgroups
 * share the instance's id, so the report counts instances, not the places they were found in.
 */
export async function reapLeftoverInstances(
  instancesDir: string,
  sandbox: Pick<Sandbox, 'reapLeftovers'>,
): Promise<LeftoverReport> {
  const dirs = reapLeftovers(instancesDir)
  const cgroups = await sandbox.reapLeftovers()
  return {
    instances: new Set([...dirs, ...cgroups]).size,
    instanceDirs: dirs.length,
    instanceCgroups: cgroups.length,
  }
}

/** Returns the ids of the leftover instance dirs removed. */
export function reapLeftovers(instancesDir: string): string[] {
  fs.mkdirSync(instancesDir, { recursive: true })
  const found: string[] = []
  for (const id of fs.readdirSync(instancesDir)) {
    const dir = path.join(instancesDir, id)
    found.push(id)
    try {
      const [pidText, startTime] = fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim().split(' ')
      const pid = Number(pidText)
      if (Number.isInteger(pid) && pid > 1) {
        const now = readProcessStartTime(pid)
        // Same pid and same start time: still our instance. No such pid: its group, if any members
        // survive, can only be ours (a group id is the pid of a live or dead leader, never reused
        // while the group exists).
        if (now === undefined || now === startTime) {
          try {
            process.kill(-pid, 'SIGKILL')
          } catch {
            // nothing left
          }
        }
      }
    } catch {
      // no pid file: the instance never started
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return found
}
