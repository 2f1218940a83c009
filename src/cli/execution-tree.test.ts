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
        run(1300, 1500, 'success', 'Fan#1/b1/Fetch#1@2', {
          function_urn: 'urn:fss:r:p:function:default:fetcher:latest',
        }),
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
      '│     └─ Fetch data [fetch] → fetcher (attempt 2)  success  200ms',
      '├─ Loop  success  150ms',
      '│  ├─ iteration 0',
      '│  │  └─ work  success  100ms',
      '│  └─ iteration 1',
      '│     └─ work  success  100ms',
      '└─ nap  running  500ms…',
    ])
  })

  test("a node's calls nested in branches give it the outcome of their last attempts", () => {
    const tree = (runs: ReturnType<typeof run>[]) =>
      renderExecutionTree(
        {
          execution_id: 'e3',
          status: 'running',
          node_execution_details: [{ node_id: 'fan', node_name: 'fan', executions: runs }],
        },
        100,
      ).split('\n')[1]
    const retried = run(0, 10, 'fail', 'fan#1/b0/fan:a#1')
    const succeeded = run(20, 30, 'success', 'fan#1/b0/fan:a#1@2')
    const other = run(5, 40, 'success', 'fan#1/b1/fan:b#1')
    expect(tree([retried, succeeded, other])).toBe('└─ fan  success  40ms')
    expect(tree([retried, other])).toBe('└─ fan  fail  40ms')
    expect(tree([succeeded, run(5, undefined, 'running', 'fan#1/b1/fan:b#1')])).toBe(
      '└─ fan  running  95ms…',
    )
  })

  test('a visit again after a failure is the next attempt; a node calls under itself name the function', () => {
    const fnUrn = 'urn:fss:r:p:function:default:double:latest'
    const lines = renderExecutionTree(
      {
        execution_id: 'e4',
        status: 'success',
        node_execution_details: [
          {
            node_id: 'flaky',
            node_name: 'Flaky',
            executions: [
              run(0, 1, 'fail', 'flaky:call#1'),
              run(2, 3, 'timeout', 'flaky:call#2'),
              run(4, 5, 'success', 'flaky:call#3'),
              run(6, 7, 'success', 'flaky:call#4'),
            ],
          },
          {
            node_id: 'loop',
            node_name: 'Each',
            executions: [
              run(10, 20, 'success', 'loop#1/i0/loop:a1#1', { function_urn: fnUrn }),
              run(11, 21, 'success', 'loop#1/i1/loop:a1#1', { function_urn: fnUrn }),
            ],
          },
        ],
      },
      100,
    ).split('\n')
    expect(lines.slice(1)).toEqual([
      '├─ Flaky [flaky]  fail  1ms',
      '├─ Flaky [flaky] (attempt 2)  timeout  1ms',
      '├─ Flaky [flaky] (attempt 3)  success  1ms',
      '├─ Flaky [flaky]  success  1ms',
      '└─ Each [loop]  success  11ms',
      '   ├─ iteration 0',
      '   │  └─ → double  success  10ms',
      '   └─ iteration 1',
      '      └─ → double  success  10ms',
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
