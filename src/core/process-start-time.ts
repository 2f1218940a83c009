/**
 * @module Identifies a process by pid and start time, so a recycled pid is never mistaken for it.
 */
import fs from 'node:fs'

/** The process start time (clock ticks since boot), or undefined when no such process exists. */
export function readProcessStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22, counted after the parenthesised command name (which may contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}
