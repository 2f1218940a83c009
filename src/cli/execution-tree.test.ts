import { describe, expect, test } from 'vitest'
import { formatDuration, renderExecutionTree } from './execution-tree.js'

function run(begin: number, end: number | undefined, status: string, path: string, extra = {}) {
  return { status, begin_time: begin, end_time: end, path, ...extra }
}

const execution = {
  execution_id: 'e1',
  status: 'success',
  begin_time: '2026-12-06T10:00:00Z',
  end_time: '2026-12-06T10:00:03Z',
  node_execution_details: [
    { node_id: 'prep', node_name: 'prep', executions: [run(0, 20, 'success', 'Prep#1')] },
    // listed before its parent: the tree still nests it
    {
      node_id: 'fetch',
      node_name: 'Fetch data',
      executions: [
        run(110, 300, 'fail', 'Fan#1/b1/Fetch#1', { error_message: 'FunctionError: boom' }),
        run(1300, 1500, 'success', 'Fan#1/b1/Fetch#1@2'),
      ],
    },
    { node_id: 'fan', node_name: 'fan', executions: [run(100, 1600, 'success', 'Fan#1')] },
    {
      node_id: 'side',
      node_name: 'side',
      executions: [run(105, 200, 'success', 'Fan#1/b0/Side#1')],
    },
    {
      node_id: 'work',
      node_name: 'work',
      executions: [
        run(1700, 1800, 'success', 'Loop#1/i1/Work#1'),
        run(1650, 1750, 'success', 'Loop#1/i0/Work#1'),
      ],
    },
    { node_id: 'nap', node_name: 'nap', executions: [run(1900, undefined, 'running', 'Nap#1')] },
  ],
}

describe('renderExecutionTree', () => {
  test('nests Parallel branches and Foreach iterations, each line with status and duration', () => {
    expect(renderExecutionTree(execution, 2400).split('\n')).toEqual([
      'execution e1  success  3.0s',
      '├─ prep  success  20ms',
      '├─ fan  success  1.5s',
      '│  ├─ branch 0',
      '│  │  └─ side  success  95ms',
      '│  └─ branch 1',
      '│     ├─ Fetch data [fetch]  fail  190ms  FunctionError: boom',
      '│     └─ Fetch data [fetch] (attempt 2)  success  200ms',
      '├─ Loop',
      '│  ├─ iteration 0',
      '│  │  └─ work  success  100ms',
      '│  └─ iteration 1',
      '│     └─ work  success  100ms',
      '└─ nap  running  500ms…',
    ])
  })

  test('a failed run names its error and node in the head line', () => {
    const failed = {
      execution_id: 'e2',
      status: 'fail',
      begin_time: '2026-12-06T10:00:00Z',
      end_time: '2026-12-06T10:01:05Z',
      error: { error: 'FunctionError', node_id: 'fetch' },
      node_execution_details: [],
    }
    expect(renderExecutionTree(failed)).toBe('execution e2  fail  1m05s  FunctionError at fetch')
  })
})

test('formatDuration picks a unit that reads well', () => {
  expect([5, 999, 1500, 59_940, 61_000, 3_725_000].map(formatDuration)).toEqual([
    '5ms',
    '999ms',
    '1.5s',
    '59.9s',
    '1m01s',
    '1h02m',
  ])
})
