import { expect, test } from 'vitest'
import { isStratoError } from '../core/index.js'
import { checkFunctionNetwork } from './network-check.js'

function thrown(fn: () => void): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

test('network check: a func_vpc naming a defined network, or none at all, passes', () => {
  expect(() =>
    checkFunctionNetwork({ extra: { func_vpc: { vpc_id: 'db' } } }, ['db']),
  ).not.toThrow()
  expect(() => checkFunctionNetwork({ extra: {} }, [])).not.toThrow()
  // An empty vpc_id attaches to nothing (FunctionGraph's console sends one): default egress.
  expect(() => checkFunctionNetwork({ extra: { func_vpc: { vpc_id: '' } } }, [])).not.toThrow()
})

test('network check: an unknown network is UNKNOWN_NETWORK naming it, and says when none is defined', () => {
  const some = thrown(() =>
    checkFunctionNetwork({ extra: { func_vpc: { vpc_id: 'x' } } }, ['a', 'b']),
  )
  expect(isStratoError(some, 'UNKNOWN_NETWORK')).toBe(true)
  expect((some as Error).message).toBe(
    "func_vpc.vpc_id names network 'x', which this Strato does not define: the defined networks are 'a', 'b'.",
  )
  const none = thrown(() => checkFunctionNetwork({ extra: { func_vpc: { vpc_id: 'x' } } }, []))
  expect((none as Error).message).toContain('this Strato defines no networks (STRATO_NETWORKS)')
})
