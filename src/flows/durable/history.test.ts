import { expect, test } from 'vitest'
import type { FlowEvent, FlowEventType } from '../../core/index.js'
import { FoldedHistory, taskKey } from './history.js'

let seq = 0
function event(type: FlowEventType, path: string, payload: object = {}, attempt = 0): FlowEvent {
  seq += 1
  return {
    executionId: 'e',
    seq,
    type,
    path,
    stateName: path.replace(/#.*$/, ''),
    nodeId: path,
    nodeName: path,
    attempt,
    at: seq,
    payloadJson: JSON.stringify(payload),
    requestId: undefined,
  }
}

const FAIL = { error: 'Boom' }

test('a redrive forgets only the failed attempts under the failed states; caught or retried failures stay answered', () => {
  const history = new FoldedHistory([
    event('ExecutionStarted', ''),
    // Caught#1 failed once and its Catch routed on: the state completed.
    event('StateEntered', 'Caught#1'),
    event('TaskFailed', 'Caught#1', FAIL, 1),
    event('StateExited', 'Caught#1'),
    // Retried#1 failed, waited its interval, then succeeded.
    event('StateEntered', 'Retried#1'),
    event('TaskFailed', 'Retried#1', FAIL, 1),
    event('TimerStarted', 'Retried#1@2:interval', { until: 5 }),
    event('TaskSucceeded', 'Retried#1@2', { output: 1 }, 2),
    event('StateExited', 'Retried#1'),
    // F#10 failed and was caught; F#1 failed for good.
    event('StateEntered', 'F#10'),
    event('TaskFailed', 'F#10', FAIL, 1),
    event('TimerStarted', 'F#10@2:interval', { until: 6 }),
    event('StateExited', 'F#10'),
    event('StateEntered', 'F#1'),
    event('TaskFailed', 'F#1', FAIL, 1),
    event('TimerStarted', 'F#1@2:interval', { until: 7 }),
    event('TaskFailed', 'F#1@2', FAIL, 2),
    event('StateFailed', 'F#1'),
    event('ExecutionFailed', ''),
    event('ExecutionRedriven', ''),
  ])
  expect(history.outcomes.has(taskKey('Caught#1', 1))).toBe(true)
  expect(history.outcomes.has(taskKey('Retried#1', 1))).toBe(true)
  expect(history.outcomes.has(taskKey('F#10', 1))).toBe(true)
  expect(history.timers.has('F#10@2:interval')).toBe(true)
  expect(history.timers.has('Retried#1@2:interval')).toBe(true)
  expect(history.ended.has('F#10')).toBe(true)

  expect(history.outcomes.has(taskKey('F#1', 1))).toBe(false)
  expect(history.outcomes.has(taskKey('F#1@2', 2))).toBe(false)
  expect(history.timers.has('F#1@2:interval')).toBe(false)
  expect(history.ended.has('F#1')).toBe(false)
})

test('a redrive forgets failed attempts nested under a failed Parallel state', () => {
  const history = new FoldedHistory([
    event('ExecutionStarted', ''),
    event('StateEntered', 'Fan#1'),
    event('TaskFailed', 'Fan#1/b0/Fetch#1', FAIL, 1),
    event('StateFailed', 'Fan#1/b0/Fetch#1'),
    event('StateFailed', 'Fan#1'),
    event('ExecutionFailed', ''),
    event('ExecutionRedriven', ''),
  ])
  expect(history.outcomes.has(taskKey('Fan#1/b0/Fetch#1', 1))).toBe(false)
  expect(history.ended.has('Fan#1')).toBe(false)
})
