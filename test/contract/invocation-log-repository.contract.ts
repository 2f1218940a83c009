/**
 * The InvocationLogRepository contract: an appended entry is readable once its invocation returned,
 * durable once `whenWritten` (or `flush`) says so, pruned by function and by age.
 */
import { describe, expect, test } from 'vitest'
import type {
  AsyncStatusLogEntry,
  InvocationLogSearch,
  InvocationRecord,
} from '../../src/core/index.js'
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

    test('search filters by time range, request id, level, status and text, newest first', async () => {
      const { repos } = await open()
      const { logs } = repos
      const ts = (i: number): number => entry(i).startedAtMs
      logs.append(entry(1, { output: `t ${'r1'} DEBUG probing\n` }), 'p1', 'fa')
      logs.append(entry(2, { output: 'x r2 INFO hello world\n' }), 'p1', 'fa')
      logs.append(entry(3, { output: 'x r3 WARN disk low\n' }), 'p1', 'fa')
      logs.append(
        entry(4, { output: 'plain\n', errorType: 'Error', errorMessage: 'boom' }),
        'p1',
        'fa',
      )
      // Python's shape: time, trace id, invoke id, level.
      logs.append(entry(5, { output: 't tr inv WARNING careful\n' }), 'p1', 'fa')
      logs.append(entry(6, { output: 'x r6 ERROR hello\n' }), 'p1', 'fb')
      const ids = async (q: Partial<InvocationLogSearch>): Promise<string[]> =>
        (await logs.search({ functionId: 'fa', order: 'desc', limit: 50, ...q })).entries.map(
          (e) => e.entry.requestId,
        )
      expect(await ids({})).toEqual(['req-5', 'req-4', 'req-3', 'req-2', 'req-1'])
      expect(await ids({ fromMs: ts(2), toMs: ts(4) })).toEqual(['req-4', 'req-3', 'req-2'])
      expect(await ids({ requestId: 'req-3' })).toEqual(['req-3'])
      expect(await ids({ minLevel: 'WARN' })).toEqual(['req-5', 'req-4', 'req-3'])
      expect(await ids({ minLevel: 'ERROR' })).toEqual(['req-4'])
      expect(await ids({ minLevel: 'DEBUG' })).toEqual([
        'req-5',
        'req-4',
        'req-3',
        'req-2',
        'req-1',
      ])
      expect(await ids({ minLevel: 'INFO', toMs: ts(2) })).toEqual(['req-2'])
      expect(await ids({ status: 'error' })).toEqual(['req-4'])
      expect(await ids({ status: 'success', contains: 'hello' })).toEqual(['req-2'])
      expect(await ids({ contains: 'boom' })).toEqual(['req-4'])
      expect(await ids({ contains: 'HELLO' })).toEqual([])
      const first = await logs.search({ functionId: 'fa', order: 'desc', limit: 2 })
      expect(first.entries[0]?.entry).toEqual({
        ...entry(5, { output: 't tr inv WARNING careful\n' }),
        projectId: 'p1',
        functionId: 'fa',
      })
      expect(first.next).toBeDefined()
    })

    test('search pages with its cursor, in either order, and says where a desc search ends', async () => {
      const { repos } = await open()
      const { logs } = repos
      for (let i = 0; i < 7; i++) {
        logs.append(entry(i), 'p1', 'fa')
      }
      const walk = async (order: 'asc' | 'desc'): Promise<string[]> => {
        const seen: string[] = []
        let cursor: string | undefined
        for (let pages = 0; pages < 10; pages++) {
          const page = await logs.search({ functionId: 'fa', order, cursor, limit: 3 })
          seen.push(...page.entries.map((e) => e.entry.requestId))
          if (page.entries.length === 0 || page.next === undefined) {
            return seen
          }
          cursor = page.next
        }
        return seen
      }
      expect(await walk('desc')).toEqual([
        'req-6',
        'req-5',
        'req-4',
        'req-3',
        'req-2',
        'req-1',
        'req-0',
      ])
      expect(await walk('asc')).toEqual([
        'req-0',
        'req-1',
        'req-2',
        'req-3',
        'req-4',
        'req-5',
        'req-6',
      ])
      // A follow: the cursor of an exhausted asc page picks up what is written later.
      const tail = await logs.search({
        functionId: 'fa',
        order: 'asc',
        fromMs: entry(6).startedAtMs,
        limit: 10,
      })
      expect(tail.entries.map((e) => e.entry.requestId)).toEqual(['req-6'])
      const empty = await logs.search({
        functionId: 'fa',
        order: 'asc',
        cursor: tail.next,
        limit: 10,
      })
      expect(empty.entries).toEqual([])
      logs.append(entry(3, { attempt: 2 }), 'p1', 'fa')
      logs.append(entry(9), 'p1', 'fa')
      const more = await logs.search({
        functionId: 'fa',
        order: 'asc',
        cursor: empty.next,
        limit: 10,
      })
      // Written later though it started earlier: a follow still sees it.
      expect(more.entries.map((e) => `${e.entry.requestId}#${e.entry.attempt ?? 1}`)).toEqual([
        'req-3#2',
        'req-9#1',
      ])
      // A follow from a time with nothing since then starts at the end.
      const none = await logs.search({
        functionId: 'fa',
        order: 'asc',
        fromMs: entry(50).startedAtMs,
        limit: 10,
      })
      expect(none.entries).toEqual([])
      logs.append(entry(60), 'p1', 'fa')
      const after = await logs.search({
        functionId: 'fa',
        order: 'asc',
        cursor: none.next,
        fromMs: entry(50).startedAtMs,
        limit: 10,
      })
      expect(after.entries.map((e) => e.entry.requestId)).toEqual(['req-60'])
      await expect(
        logs.search({ functionId: 'fa', order: 'asc', cursor: 'd1.2', limit: 1 }),
      ).rejects.toMatchObject({ code: 'INVALID_QUERY' })
    })

    test('async status entries are kept per project, searched and paged, pruned with their function', async () => {
      const { repos } = await open()
      const { logs } = repos
      const status = (
        i: number,
        s: string,
        extra: Partial<AsyncStatusLogEntry> = {},
      ): AsyncStatusLogEntry => ({
        projectId: 'p1',
        functionId: 'fa',
        functionUrn: 'urn:fss:r:p1:function:default:fa:latest',
        requestId: `req-${i}`,
        status: s,
        attempts: 1,
        atMs: 1_700_000_000_000 + i * 1_000,
        errorCode: 0,
        message: '',
        ...extra,
      })
      logs.appendAsyncStatus(status(1, 'WAIT', { attempts: 0 }))
      logs.appendAsyncStatus(status(1, 'RUNNING'))
      logs.appendAsyncStatus(status(1, 'FAIL', { errorCode: 500, message: 'boom' }))
      logs.appendAsyncStatus(status(2, 'SUCCESS', { functionId: 'fb' }))
      logs.appendAsyncStatus(status(3, 'SUCCESS', { projectId: 'p2' }))
      const page = await logs.searchAsyncStatus({ projectId: 'p1', order: 'asc', limit: 10 })
      expect(page.entries.map((e) => `${e.entry.requestId}:${e.entry.status}`)).toEqual([
        'req-1:WAIT',
        'req-1:RUNNING',
        'req-1:FAIL',
        'req-2:SUCCESS',
      ])
      expect(page.entries[2]?.entry).toEqual(status(1, 'FAIL', { errorCode: 500, message: 'boom' }))
      const failed = await logs.searchAsyncStatus({
        projectId: 'p1',
        order: 'desc',
        status: 'FAIL',
        limit: 10,
      })
      expect(failed.entries.map((e) => e.entry.requestId)).toEqual(['req-1'])
      const one = await logs.searchAsyncStatus({
        projectId: 'p1',
        order: 'desc',
        requestId: 'req-2',
        limit: 10,
      })
      expect(one.entries).toHaveLength(1)
      await logs.prune({ functionId: 'fa' })
      const left = await logs.searchAsyncStatus({ projectId: 'p1', order: 'asc', limit: 10 })
      expect(left.entries.map((e) => e.entry.requestId)).toEqual(['req-2'])
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
