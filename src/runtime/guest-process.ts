/**
 * @module Spawning a sandboxed guest process: detached (its own process group, so a kill reaches
 * everything the function spawned), with stdio `[ignore, fd 1 output, stderr, fd 3 control,
 * extra files…]`, and its pid file written for the reaper of a later start.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { StratoError, readProcessStartTime } from '../core/index.js'
import type { ExitStatus } from './death-classifier.js'
import type { CellPlan } from './sandbox.js'

/** After exit, how long to wait for the last output before judging the exit. */
const CLOSE_GRACE_MS = 200

/**
 * Spawns the plan's command, synchronously: its `error` event (a missing interpreter) is emitted
 * on the next tick and must find the instance's listeners.
 */
export function spawnGuest(plan: CellPlan): ChildProcess {
  const extraFds = plan.extraFiles.map((f) => fs.openSync(f, 'r'))
  try {
    return spawn(plan.command, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...extraFds],
      // Its own process group, so a kill reaches everything the function spawned.
      detached: true,
    })
  } finally {
    for (const fd of extraFds) {
      fs.closeSync(fd)
    }
  }
}

/**
 * Resolves once the process runs and its pid file is in `instanceDir`; rejects with
 * `INSTANCE_START_FAILED` when it could not be started.
 */
export async function awaitSpawn(
  child: ChildProcess,
  command: string,
  instanceDir: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err) => {
      reject(
        new StratoError(
          'INSTANCE_START_FAILED',
          `The runtime '${command}' could not be started: ${err.message}.`,
          { cause: err },
        ),
      )
    })
  })
  const pid = child.pid
  if (pid !== undefined) {
    // The reaper of the next start finds leftovers of a crashed Strato by this file.
    await fsp.writeFile(
      path.join(instanceDir, 'pid'),
      `${pid} ${readProcessStartTime(pid) ?? ''}\n`,
    )
  }
}

/**
 * Resolves once the process has exited and its stdio ended, or `CLOSE_GRACE_MS` after the exit:
 * 'close' waits for every stdio stream to end, and a grandchild holding fd 1 open must not delay
 * judging the exit. Also resolves when the process could not be started.
 */
export function whenClosed(child: ChildProcess, onExit: (exit: ExitStatus) => void): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      onExit({ code, signal })
      const t = setTimeout(resolve, CLOSE_GRACE_MS)
      child.once('close', () => {
        clearTimeout(t)
        resolve()
      })
    })
    child.once('error', () => resolve())
  })
}

/** `pid` and its descendants (those still there), from /proc. */
function processTree(pid: number): number[] {
  const all = [pid]
  for (let i = 0; i < all.length; i++) {
    const p = all[i] as number
    try {
      for (const task of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${task}/children`, 'utf8')
        for (const kid of kids.split(' ')) {
          if (kid.trim() !== '') {
            all.push(Number(kid))
          }
        }
      }
    } catch {
      // gone meanwhile
    }
  }
  return all
}

/**
 * Sets the nice value of `pid` and every process below it; best effort (a process may be gone,
 * and only a privileged Strato may lower a nice value again).
 */
export function reniceTree(pid: number, niceness: number): void {
  for (const p of processTree(pid)) {
    // Nice is per thread on Linux: every task of the process (a JVM's or V8's helper threads).
    let tasks: string[]
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`)
    } catch {
      tasks = [String(p)]
    }
    for (const task of tasks) {
      try {
        os.setPriority(Number(task), niceness)
      } catch {
        // gone, or not ours to change
      }
    }
  }
}
