import { expect, test } from 'vitest'
import { isStratoError } from '../core/index.js'
import { INSTANCE_TRANSITIONS, transition, type InstanceState } from './instance-state.js'

const STATES = Object.keys(INSTANCE_TRANSITIONS) as InstanceState[]

test('instance state: every listed edge is taken, every other edge is refused as INTERNAL', () => {
  for (const from of STATES) {
    for (const to of STATES) {
      if (INSTANCE_TRANSITIONS[from].includes(to)) {
        expect(transition('i-1', from, to)).toBe(to)
      } else {
        let thrown: unknown
        try {
          transition('i-1', from, to)
        } catch (err) {
          thrown = err
        }
        expect(isStratoError(thrown, 'INTERNAL'), `${from} → ${to}`).toBe(true)
        expect((thrown as Error).message).toContain(`'${from}' to '${to}'`)
      }
    }
  }
})

test('instance state: the life cycle runs boot → cell → starting → idle ⇄ busy → stopping → stopped', () => {
  const path: InstanceState[] = ['booting', 'cell', 'starting', 'idle', 'busy', 'idle', 'busy']
  let state: InstanceState = 'booting'
  for (const next of path.slice(1)) {
    state = transition('i-1', state, next)
  }
  expect(transition('i-1', transition('i-1', state, 'stopping'), 'stopped')).toBe('stopped')
})

test('instance state: stopped is terminal; a stopped or stopping instance never takes work again', () => {
  expect(INSTANCE_TRANSITIONS.stopped).toEqual([])
  expect(INSTANCE_TRANSITIONS.stopping).toEqual(['stopped'])
  for (const from of STATES) {
    // Any live state may be stopped or die; none goes back to booting or to being a cell.
    expect(INSTANCE_TRANSITIONS[from].includes('booting')).toBe(false)
    if (from !== 'stopped') {
      expect(INSTANCE_TRANSITIONS[from]).toContain('stopped')
    }
    if (from !== 'booting') {
      expect(INSTANCE_TRANSITIONS[from].includes('cell')).toBe(false)
    }
  }
})
