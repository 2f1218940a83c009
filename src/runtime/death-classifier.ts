/**
 * @module Why an instance failed, as the error type and message its caller hears: from the exit
 * code or signal, the instance cgroup's counters, the stderr tail and what the guest flagged. Pure:
 * the instance gathers the evidence, this judges it (docs/errors.md, "Function errors").
 */
import os from 'node:os'
import { SELF_EXIT_MESSAGE_PREFIX } from '../core/index.js'
import type { CgroupEvents } from './cgroups.js'

/** The error type and message of a failure; the instance adds the log. */
export interface Verdict {
  readonly errorType: string
  readonly message: string
}

/** What the host knows about an instance when judging a failure. */
export interface InstanceEvidence {
  /** The instance cgroup's counters; undefined without a cgroup (below `unshare`). */
  readonly events: CgroupEvents | undefined
  /** The last few KiB of the instance's stderr. */
  readonly stderrTail: string
  readonly memorySizeMb: number
  /** Processes and threads the instance may have (its cgroup's `pids.max`). */
  readonly processLimit: number
}

/** How the process ended: undefined when it never started. */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

const OOM_PATTERN =
  /heap out of memory|Allocation failed|MemoryError|Cannot allocate memory|std::bad_alloc|runtime: out of memory|fatal error: out of memory/i

const SIGNAL_NAMES = new Map(
  Object.entries(os.constants.signals)
    .reverse()
    .map(([name, n]) => [n, name]),
)

/** A sandbox wrapper (bwrap, unshare) reports a child killed by signal N as exit code 128 + N. */
export function signalOfExitCode(code: number | null): string {
  const name = code !== null && code > 128 ? SIGNAL_NAMES.get(code - 128) : undefined
  return name === undefined ? '' : ` (${name})`
}

/** `exited with code 137 (SIGKILL)`, `was killed by SIGTERM`, `could not be started`. */
export function describeExit(exit: ExitStatus | undefined): string {
  return exit === undefined
    ? 'could not be started'
    : exit.signal !== null
      ? `was killed by ${exit.signal}`
      : `exited with code ${exit.code}${signalOfExitCode(exit.code)}`
}

/** The end of stderr, as a sentence to append to a message ('' when stderr was empty). */
export function stderrHint(stderrTail: string): string {
  const tail = stderrTail.trim()
  return tail === '' ? '' : ` Its stderr ends with: ${tail.slice(-1000)}`
}

/** The cgroup counted an OOM kill, or stderr shows an interpreter's out-of-memory error. */
export function ranOutOfMemory(e: InstanceEvidence): boolean {
  return (e.events?.oomKills ?? 0) > 0 || OOM_PATTERN.test(e.stderrTail)
}

/**
 * When the instance hit its process limit (a fork bomb, a thread leak), that is what the caller
 * hears, whatever the function did next; the instance is spent and gets replaced.
 */
export function processLimitVerdict(e: InstanceEvidence): Verdict | undefined {
  if (e.events === undefined || e.events.pidsLimitHits === 0) {
    return undefined
  }
  return {
    errorType: 'ProcessLimitExceeded',
    message: `The function reached the limit of ${e.processLimit} processes and threads per instance; its instance was stopped.`,
  }
}

/**
 * A failed `result` that spent the instance: the guest flagged that the function ran out of file
 * descriptors, or the cgroup counted a process limit hit. Undefined: an ordinary function error.
 */
export function spentInstanceVerdict(
  e: InstanceEvidence,
  fdsExhausted: boolean,
  errorJson: Buffer,
): Verdict | undefined {
  if (fdsExhausted) {
    return {
      errorType: 'TooManyOpenFiles',
      message: `The function reached the limit of open files per instance; its instance was stopped. ${errorMessageOf(errorJson)}`,
    }
  }
  return processLimitVerdict(e)
}

/** An invocation ran past its deadline (the instance is killed). */
export function timeoutVerdict(e: InstanceEvidence, timeoutMs: number): Verdict {
  return (
    processLimitVerdict(e) ?? {
      errorType: 'TimeoutError',
      message: `Invoke function timeout: the function ran longer than its timeout of ${timeoutMs / 1000} s and was stopped.`,
    }
  )
}

/** What the host had seen of a start that missed its deadline, for diagnosing slow starts. */
export interface StartProgress {
  readonly outputBytes: number
  readonly undeliveredFrames: number
  readonly exited: boolean
}

function describeProgress(p: StartProgress): string {
  return `${p.outputBytes} bytes of output and ${p.undeliveredFrames} undelivered frames received, process ${p.exited ? 'exited' : 'still running'}`
}

/** No `cell` (`boot`) or no `ready` after `specialise` (`load`) within the start deadline. */
export function startTimeoutVerdict(
  phase: 'boot' | 'load',
  timeoutMs: number,
  progress: StartProgress,
  stderrTail: string,
): Verdict {
  return {
    errorType: 'RuntimeStartTimeout',
    message:
      phase === 'boot'
        ? `The function runtime did not boot within ${timeoutMs} ms (${describeProgress(progress)}).${stderrHint(stderrTail)}`
        : `The function instance did not become ready within ${timeoutMs} ms (loading the handler module; ${describeProgress(progress)}).${stderrHint(stderrTail)}`,
  }
}

export function initializerTimeoutVerdict(timeoutMs: number): Verdict {
  return {
    errorType: 'InitializerTimeout',
    message: `The initializer ran longer than its timeout of ${timeoutMs / 1000} s.`,
  }
}

/** The process ended before the instance became ready. */
export function startDeathVerdict(e: InstanceEvidence, exit: ExitStatus | undefined): Verdict {
  return ranOutOfMemory(e)
    ? {
        errorType: 'OutOfMemoryError',
        message: `The function instance ran out of memory while starting (memory_size ${e.memorySizeMb} MB).`,
      }
    : {
        errorType: 'RuntimeStartFailed',
        message: `The function instance ${describeExit(exit)} before it became ready.${stderrHint(e.stderrTail)}`,
      }
}

/** What an invocation in flight knew of the death: the guest's `exit` frame, a stop under way. */
export interface InvocationAtDeath {
  /** The code the function passed to `process.exit` / `sys.exit` during it (the `exit` frame). */
  readonly guestExitCode: number | undefined
  /** The instance was being stopped when it died (a timeout of another invocation, shutdown). */
  readonly wasStopping: boolean
}

/** The process ended while an invocation was in flight. */
export function invocationDeathVerdict(
  e: InstanceEvidence,
  exit: ExitStatus | undefined,
  at: InvocationAtDeath,
): Verdict {
  // A fork bomb usually runs the instance out of memory too; the process limit is the cause.
  return (
    processLimitVerdict(e) ??
    (ranOutOfMemory(e)
      ? {
          errorType: 'OutOfMemoryError',
          message: `The function ran out of memory (memory_size ${e.memorySizeMb} MB); its instance was stopped.`,
        }
      : at.guestExitCode !== undefined
        ? {
            errorType: 'RuntimeExitError',
            message: `${SELF_EXIT_MESSAGE_PREFIX} (exit code ${at.guestExitCode}) during the invocation; its instance was replaced.`,
          }
        : {
            errorType: 'RuntimeExitError',
            message: `The function instance ${describeExit(exit)} during the invocation${at.wasStopping ? ' (it was being stopped)' : ''}.${stderrHint(e.stderrTail)}`,
          })
  )
}

/** The `errorMessage` of a guest's error JSON ('' when it has none). */
export function errorMessageOf(errorJson: Buffer): string {
  try {
    const parsed = JSON.parse(errorJson.toString('utf8')) as { errorMessage?: unknown }
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : ''
  } catch {
    return ''
  }
}
