/**
 * The InvocationLogRepository contract: an appended entry is readable once its invocation returned,
 * durable once `whenWritten` (or `flush`) says so, pruned by function and by age.
 */
import { describe, expect, test } from 'vitest'
import type { InvocationRecord } from '../../src/core/index.js'
import { backendPerTest, type OpenBackend } from './store-harness.js'

function entry(i: number, extra: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    requestId: `req-${i}`,
    attempt: 1,
    version: 'latest',
    startedAtMs: 1_700_000_000_000 + i * 1_000,
    durationMs: 1.5,
    billedDurationMs: 2,
    memorySizeMb: 128,
    memoryUsedMb: 30.25,
    errorType: undefined,
    errorMessage: undefined,
    output: `line ${i}\n`,
    ...extra,
  }
}

export function describeInvocationLogRepositoryContract(
  name: string,
  openBackend: OpenBackend,
): void {
  describe(`InvocationLogRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('an appended entry is listed at once, newest first, every field as recorded', async () => {
      const { repos } = await open()
      const failed = entry(2, { errorType: 'Error', errorMessage: 'boom', attempt: 2 })
      repos.logs.append(entry(1), 'p1', 'fa')
      repos.logs.append(failed, 'p1', 'fa')
      repos.logs.append(entry(3), 'p1', 'fb')
      const listed = await repos.logs.list({ functionId: 'fa', limit: 10 })
      expect(listed).toEqual([
        { ...failed, projectId: 'p1', functionId: 'fa' },
        { ...entry(1), projectId: 'p1', functionId: 'fa' },
      ])
      expect(await repos.logs.list({ functionId: 'fa', limit: 1 })).toHaveLength(1)
      expect(
        (await repos.logs.list({ functionId: 'fa', requestId: 'req-1', limit: 10 })).map(
          (l) => l.requestId,
        ),
      ).toEqual(['req-1'])
    })

    test("readAfter feeds one function's entries in write order, on from a position, since a time", async () => {
      const backend = await open()
      const { logs } = backend.repos
      logs.append(entry(5), 'p1', 'fa')
      logs.append(entry(1), 'p1', 'fb')
      logs.append(entry(2), 'p1', 'fa')
      logs.append(entry(3), 'p1', 'fa')
      const first = await logs.readAfter('fa', undefined, 0, 2)
      expect(first.map((f) => f.entry.requestId)).toEqual(['req-5', 'req-2'])
      expect(first[0]?.entry).toEqual({ ...entry(5), projectId: 'p1', functionId: 'fa' })
      const rest = await logs.readAfter('fa', first[1]?.position, 0, 10)
      expect(rest.map((f) => f.entry.requestId)).toEqual(['req-3'])
      expect(await logs.readAfter('fa', rest[0]?.position, 0, 10)).toEqual([])
      // Only what started at or after sinceMs.
      const since = entry(3).startedAtMs
      expect(
        (await logs.readAfter('fa', undefined, since, 10)).map((f) => f.entry.requestId),
      ).toEqual(['req-5', 'req-3'])
      // Positions hold across a restart: a reader goes on where it was.
      logs.append(entry(4), 'p1', 'fa')
      logs.flush()
      const reopened = await backend.reopen()
      const after = await reopened.logs.readAfter('fa', rest[0]?.position, 0, 10)
      expect(after.map((f) => f.entry.requestId)).toEqual(['req-4'])
    })

    test('the attempts of one request are kept apart, newest attempt first', async () => {
      const { repos } = await open()
      repos.logs.append(entry(1, { attempt: 1 }), 'p1', 'fa')
      repos.logs.append(entry(1, { attempt: 2, errorType: 'Error', errorMessage: 'x' }), 'p1', 'fa')
      const listed = await repos.logs.list({ functionId: 'fa', requestId: 'req-1', limit: 10 })
      expect(listed.map((l) => l.attempt)).toEqual([2, 1])
    })

    test('whenWritten resolves once what was appended is durable: it survives a restart', async () => {
      const backend = await open()
      for (let i = 0; i < 600; i++) {
        backend.repos.logs.append(entry(i), 'p1', 'fa')
      }
      await backend.repos.logs.whenWritten()
      backend.repos.logs.append(entry(1_000), 'p1', 'fb')
      backend.repos.logs.flush()
      const reopened = await backend.reopen()
      expect(await reopened.logs.list({ functionId: 'fa', limit: 1_000 })).toHaveLength(600)
      expect(await reopened.logs.list({ functionId: 'fb', limit: 10 })).toHaveLength(1)
    })

    test('prune removes one function’s entries, or entries older than a date', async () => {
      const { repos } = await open()
      for (let i = 0; i < 4; i++) {
        repos.logs.append(entry(i), 'p1', 'fa')
        repos.logs.append(entry(i), 'p1', 'fb')
      }
      await repos.logs.prune({ functionId: 'fb' })
      expect(await repos.logs.list({ functionId: 'fb', limit: 10 })).toEqual([])
      await repos.logs.prune({ before: new Date(entry(2).startedAtMs) })
      expect(
        (await repos.logs.list({ functionId: 'fa', limit: 10 })).map((l) => l.requestId),
      ).toEqual(['req-3', 'req-2'])
    })
  })
}
