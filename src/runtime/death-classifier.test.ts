import { expect, test } from 'vitest'
import {
  describeExit,
  invocationDeathVerdict,
  spentInstanceVerdict,
  startDeathVerdict,
  startTimeoutVerdict,
  initializerTimeoutVerdict,
  timeoutVerdict,
  type InstanceEvidence,
} from './death-classifier.js'

function evidence(over: Partial<InstanceEvidence> = {}): InstanceEvidence {
  return {
    events: { oomKills: 0, pidsLimitHits: 0 },
    stderrTail: '',
    memorySizeMb: 128,
    processLimit: 1024,
    ...over,
  }
}

const killed = { code: null, signal: 'SIGKILL' as const }
const exited = (code: number) => ({ code, signal: null })
const running = { guestExitCode: undefined, wasStopping: false }
const errorJson = (message: string) =>
  Buffer.from(JSON.stringify({ errorMessage: message, errorType: 'Error' }))

test('death classifier: how a process ended, with a wrapper-reported signal named', () => {
  expect(describeExit(undefined)).toBe('could not be started')
  expect(describeExit(killed)).toBe('was killed by SIGKILL')
  expect(describeExit(exited(3))).toBe('exited with code 3')
  expect(describeExit(exited(137))).toBe('exited with code 137 (SIGKILL)')
})

test('death classifier: a death during an invocation, by precedence', () => {
  // The process limit wins over everything (a fork bomb also runs out of memory).
  const all = evidence({ events: { oomKills: 1, pidsLimitHits: 2 }, stderrTail: 'MemoryError' })
  expect(invocationDeathVerdict(all, killed, running).errorType).toBe('ProcessLimitExceeded')
  expect(invocationDeathVerdict(all, killed, running).message).toContain('limit of 1024 processes')
  // Out of memory: counted by the cgroup, or seen in stderr without a cgroup.
  const oom = invocationDeathVerdict(
    evidence({ events: { oomKills: 1, pidsLimitHits: 0 } }),
    killed,
    running,
  )
  expect(oom).toEqual({
    errorType: 'OutOfMemoryError',
    message: 'The function ran out of memory (memory_size 128 MB); its instance was stopped.',
  })
  const heap = evidence({
    events: undefined,
    stderrTail: 'FATAL ERROR: JavaScript heap out of memory',
  })
  expect(invocationDeathVerdict(heap, exited(134), running).errorType).toBe('OutOfMemoryError')
  // Go's runtime, as the Go guest repeats it after the goroutine dump.
  const goHeap = evidence({
    events: undefined,
    stderrTail:
      '[strato] the Go executable crashed: runtime: out of memory: cannot allocate 16777216-byte block (2147483648 in use); fatal error: out of memory\n',
  })
  expect(invocationDeathVerdict(goHeap, exited(2), running).errorType).toBe('OutOfMemoryError')
  // The function's own exit, as the guest's exit frame reported it.
  expect(invocationDeathVerdict(evidence(), exited(7), { ...running, guestExitCode: 7 })).toEqual({
    errorType: 'RuntimeExitError',
    message:
      'The function ended its own process (exit code 7) during the invocation; its instance was replaced.',
  })
  // Anything else: how it ended, whether it was being stopped, and the stderr tail.
  const other = invocationDeathVerdict(evidence({ stderrTail: 'boom\n' }), killed, {
    ...running,
    wasStopping: true,
  })
  expect(other).toEqual({
    errorType: 'RuntimeExitError',
    message:
      'The function instance was killed by SIGKILL during the invocation (it was being stopped). Its stderr ends with: boom',
  })
})

test('death classifier: a death before ready is RuntimeStartFailed, or OutOfMemoryError', () => {
  expect(startDeathVerdict(evidence(), exited(1))).toEqual({
    errorType: 'RuntimeStartFailed',
    message: 'The function instance exited with code 1 before it became ready.',
  })
  expect(startDeathVerdict(evidence({ stderrTail: 'x'.repeat(2000) }), exited(1)).message).toMatch(
    /Its stderr ends with: x{1000}$/,
  )
  expect(
    startDeathVerdict(evidence({ memorySizeMb: 256, stderrTail: 'std::bad_alloc' }), killed),
  ).toEqual({
    errorType: 'OutOfMemoryError',
    message: 'The function instance ran out of memory while starting (memory_size 256 MB).',
  })
})

test('death classifier: a deadline is TimeoutError unless the process limit was hit', () => {
  expect(timeoutVerdict(evidence(), 1500)).toEqual({
    errorType: 'TimeoutError',
    message:
      'Invoke function timeout: the function ran longer than its timeout of 1.5 s and was stopped.',
  })
  expect(
    timeoutVerdict(evidence({ events: { oomKills: 0, pidsLimitHits: 1 } }), 1500).errorType,
  ).toBe('ProcessLimitExceeded')
  // Without a cgroup nothing counts process limit hits.
  expect(timeoutVerdict(evidence({ events: undefined }), 3000).errorType).toBe('TimeoutError')
})

test('death classifier: a failed result spends the instance only on a guest fd flag or a process limit hit', () => {
  expect(spentInstanceVerdict(evidence(), false, errorJson('nope'))).toBeUndefined()
  expect(spentInstanceVerdict(evidence(), true, errorJson('EMFILE: too many open files'))).toEqual({
    errorType: 'TooManyOpenFiles',
    message:
      'The function reached the limit of open files per instance; its instance was stopped. EMFILE: too many open files',
  })
  expect(spentInstanceVerdict(evidence(), true, Buffer.from('not json'))?.message).toMatch(
    /stopped\. $/,
  )
  const hit = evidence({ events: { oomKills: 0, pidsLimitHits: 3 } })
  expect(spentInstanceVerdict(hit, false, errorJson('spawn EAGAIN'))?.errorType).toBe(
    'ProcessLimitExceeded',
  )
})

test('death classifier: start deadlines say which phase and how far the start got', () => {
  const progress = { outputBytes: 12, undeliveredFrames: 1, exited: false }
  expect(startTimeoutVerdict('boot', 2000, progress, '')).toEqual({
    errorType: 'RuntimeStartTimeout',
    message:
      'The function runtime did not boot within 2000 ms (12 bytes of output and 1 undelivered frames received, process still running).',
  })
  expect(startTimeoutVerdict('load', 2000, { ...progress, exited: true }, 'trace').message).toBe(
    'The function instance did not become ready within 2000 ms (loading the handler module; 12 bytes of output and 1 undelivered frames received, process exited). Its stderr ends with: trace',
  )
  expect(initializerTimeoutVerdict(2500)).toEqual({
    errorType: 'InitializerTimeout',
    message: 'The initializer ran longer than its timeout of 2.5 s.',
  })
})
