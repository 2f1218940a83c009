/**
 * @module Start-up clean-up after a crashed Strato: kills instance process groups recorded in
 * `<instancesDir>/<id>/pid` and removes the dirs.
 */
import fs from 'node:fs'
import path from 'node:path'
import { readProcessStartTime } from '../core/index.js'

/** Returns how many leftover instances were found. */
export function reapLeftovers(instancesDir: string): number {
  fs.mkdirSync(instancesDir, { recursive: true })
  let found = 0
  for (const id of fs.readdirSync(instancesDir)) {
    const dir = path.join(instancesDir, id)
    found++
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
