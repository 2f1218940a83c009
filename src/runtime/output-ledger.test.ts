import { expect, test } from 'vitest'
import { OutputLedger } from './output-ledger.js'

const b = (s: string): Buffer => Buffer.from(s)

test('output ledger: each frame takes the bytes up to its out count, across and inside chunks', () => {
  const ledger = new OutputLedger()
  ledger.receive(b('one\ntw'))
  ledger.receive(b('o\nthree\n'))
  expect(ledger.received).toBe(14)
  expect(ledger.take(4)).toBe('one\n')
  expect(ledger.take(8)).toBe('two\n')
  expect(ledger.take(14)).toBe('three\n')
  expect(ledger.takeAll()).toBe('')
})

test('output ledger: a multi-byte character split across chunks is whole in the log', () => {
  const ledger = new OutputLedger()
  const text = b('é€😀')
  for (const byte of text) {
    ledger.receive(Buffer.from([byte]))
  }
  expect(ledger.take(text.length)).toBe('é€😀')
})

test('output ledger: start-up output goes to the first invocation only', () => {
  const ledger = new OutputLedger()
  ledger.receive(b('loading\n'))
  ledger.keepStartLog(8)
  ledger.receive(b('first\nsecond\n'))
  expect(ledger.takeInvocationLog(14)).toBe('loading\nfirst\n')
  expect(ledger.takeInvocationLog(undefined)).toBe('second\n')
})

test('output ledger: takeInvocationLog(undefined) takes everything received, start-up first', () => {
  const ledger = new OutputLedger()
  ledger.receive(b('init\n'))
  ledger.keepStartLog(5)
  ledger.receive(b('partial output'))
  expect(ledger.takeInvocationLog(undefined)).toBe('init\npartial output')
})

test('output ledger: past the host cap output is counted but not kept, and the log says how much was dropped', () => {
  const ledger = new OutputLedger(10)
  ledger.receive(b('12345678'))
  ledger.receive(b('abcdef')) // would pass the cap: dropped
  ledger.receive(b('XY')) // fits again
  expect(ledger.received).toBe(16)
  expect(ledger.take(16)).toBe('12345678XY\n[strato: 6 bytes of output dropped]\n')
  // Taking frees room under the cap.
  ledger.receive(b('0123456789'))
  expect(ledger.takeAll()).toBe('0123456789')
})

test('output ledger: an out count behind what was already taken takes nothing and drops nothing', () => {
  const ledger = new OutputLedger()
  ledger.receive(b('abcdef'))
  expect(ledger.takeAll()).toBe('abcdef')
  expect(ledger.take(3)).toBe('')
  ledger.receive(b('gh'))
  expect(ledger.take(8)).toBe('gh')
})
