import { expect, test } from 'vitest'
import { ReadThroughCache } from './read-through-cache.js'

/** A loader that counts its calls and answers from `rows`. */
function loaderOf(rows: Map<string, string | null>) {
  const calls: string[] = []
  const load = (key: string): Promise<string | null | undefined> => {
    calls.push(key)
    return Promise.resolve(rows.get(key))
  }
  return { load, calls }
}

test('read-through cache: the first read loads, later reads are the value itself, not a promise', async () => {
  const cache = new ReadThroughCache<string, string | null>()
  const { load, calls } = loaderOf(new Map([['a', 'A']]))
  const first = cache.get('a', load)
  expect(first).toBeInstanceOf(Promise)
  expect(await first).toBe('A')
  expect(cache.get('a', load)).toBe('A')
  expect(cache.peek('a')).toBe('A')
  expect(calls).toEqual(['a'])
})

test('read-through cache: undefined is never cached; a loaded null (a cached miss) is', async () => {
  const cache = new ReadThroughCache<string, string | null>()
  const { load, calls } = loaderOf(new Map([['gone', null]]))
  expect(await cache.get('unknown', load)).toBeUndefined()
  expect(await cache.get('unknown', load)).toBeUndefined()
  expect(await cache.get('gone', load)).toBeNull()
  expect(cache.get('gone', load)).toBeNull()
  expect(calls).toEqual(['unknown', 'unknown', 'gone'])
})

test('read-through cache: invalidate forgets one key and tells the listeners; the next read loads again', async () => {
  const cache = new ReadThroughCache<string, string>()
  const rows = new Map([
    ['a', 'A'],
    ['b', 'B'],
  ])
  const load = (key: string): Promise<string | undefined> => Promise.resolve(rows.get(key))
  await cache.get('a', load)
  await cache.get('b', load)
  const told: Array<string | undefined> = []
  const unsubscribe = cache.onInvalidate((key) => told.push(key))
  rows.set('a', 'A2')
  cache.invalidate('a')
  expect(cache.peek('a')).toBeUndefined()
  expect(cache.peek('b')).toBe('B')
  expect(await cache.get('a', load)).toBe('A2')
  cache.invalidateAll()
  expect(cache.peek('b')).toBeUndefined()
  unsubscribe()
  cache.invalidate('b')
  expect(told).toEqual(['a', undefined])
})

test('read-through cache: invalidateWhere forgets the keys it selects only', () => {
  const cache = new ReadThroughCache<string, number>()
  for (const [key, value] of [
    ['f1/v1', 1],
    ['f1/v2', 2],
    ['f2/v1', 3],
  ] as const) {
    cache.set(key, value)
  }
  cache.invalidateWhere((key) => key.startsWith('f1/'))
  expect([cache.peek('f1/v1'), cache.peek('f1/v2'), cache.peek('f2/v1')]).toEqual([
    undefined,
    undefined,
    3,
  ])
})

test('read-through cache: a load that overlapped an invalidation returns what it read but does not fill the cache', async () => {
  const cache = new ReadThroughCache<string, string>()
  let finish: (value: string) => void = () => undefined
  const slow = (): Promise<string> => new Promise((resolve) => (finish = resolve))
  const reading = cache.get('a', slow)
  // Another writer changes `a` while the read is in flight (this node's or another's).
  cache.invalidate('a')
  finish('stale')
  expect(await reading).toBe('stale')
  expect(cache.peek('a')).toBeUndefined()
  // A set (write-through) wins over a load that began before it, too.
  const again = cache.get('a', slow)
  cache.set('a', 'written')
  finish('older')
  await again
  expect(cache.peek('a')).toBe('written')
})
