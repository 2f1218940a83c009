/**
 * The AuditTrailRepository contract: appended records are listed at once, newest first, with
 * CTS's filters and marker paging, scoped to their project; the feed hands them out in order after
 * a position; they survive a restart once flushed; prune removes only the old.
 */
import { describe, expect, test } from 'vitest'
import type { AuditRecord } from '../../src/core/index.js'
import { backendPerTest, type OpenBackend } from './store-harness.js'

const T0 = 1_700_000_000_000

function record(i: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    traceId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    projectId: 'p1',
    timeMs: T0 + i * 1_000,
    traceName: 'updateFunctionConfig',
    resourceType: 'function',
    resourceName: 'fa',
    resourceId: 'urn:fss:r:p1:function:default:fa:latest',
    functionUrn: 'urn:fss:r:p1:function:default:fa',
    code: 200,
    errorCode: '',
    sourceIp: '127.0.0.1',
    accessKey: 'ak1',
    requestId: `req-${i}`,
    traceType: 'ApiCall',
    ...extra,
  }
}

export function describeAuditTrailRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`AuditTrailRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('an appended record is listed at once, newest first, every field as recorded', async () => {
      const { repos } = await open()
      const failed = record(2, { code: 404, errorCode: 'FSS.1051', traceName: 'deleteFunction' })
      repos.audit.append(record(1))
      repos.audit.append(failed)
      repos.audit.append(record(3, { projectId: 'p2' }))
      const { records, more } = await repos.audit.list({ projectId: 'p1', limit: 10 })
      expect(records).toEqual([failed, record(1)])
      expect(more).toBe(false)
    })

    test('filters: time window, resource, trace name, rating, user, trace id', async () => {
      const { repos } = await open()
      repos.audit.append(record(1))
      repos.audit.append(record(2, { resourceName: 'fb', traceName: 'deleteFunction', code: 204 }))
      repos.audit.append(record(3, { resourceType: 'trigger', resourceId: 't-1', code: 400 }))
      repos.audit.append(record(4, { code: 500, accessKey: 'ak2' }))
      const ids = async (q: Record<string, unknown>): Promise<string[]> =>
        (await repos.audit.list({ projectId: 'p1', limit: 10, ...q })).records.map(
          (r) => r.requestId,
        )
      expect(await ids({ fromMs: T0 + 2_000, toMs: T0 + 3_000 })).toEqual(['req-3', 'req-2'])
      expect(await ids({ resourceName: 'fb' })).toEqual(['req-2'])
      expect(await ids({ resourceType: 'trigger' })).toEqual(['req-3'])
      expect(await ids({ resourceId: 't-1' })).toEqual(['req-3'])
      expect(await ids({ traceName: 'deleteFunction' })).toEqual(['req-2'])
      expect(await ids({ traceRating: 'normal' })).toEqual(['req-2', 'req-1'])
      expect(await ids({ traceRating: 'warning' })).toEqual(['req-3'])
      expect(await ids({ traceRating: 'incident' })).toEqual(['req-4'])
      expect(await ids({ user: 'ak2' })).toEqual(['req-4'])
      expect(await ids({ traceId: record(1).traceId })).toEqual(['req-1'])
    })

    test('pages follow the marker (the last trace id) to the oldest, without repeats', async () => {
      const { repos } = await open()
      for (let i = 1; i <= 7; i++) {
        repos.audit.append(record(i))
      }
      const seen: string[] = []
      let before: string | undefined
      for (;;) {
        const page = await repos.audit.list({ projectId: 'p1', limit: 3, beforeTraceId: before })
        seen.push(...page.records.map((r) => r.requestId))
        if (!page.more) {
          break
        }
        before = page.records.at(-1)?.traceId
      }
      expect(seen).toEqual(['req-7', 'req-6', 'req-5', 'req-4', 'req-3', 'req-2', 'req-1'])
      await expect(
        repos.audit.list({ projectId: 'p2', limit: 3, beforeTraceId: record(5).traceId }),
      ).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
    })

    test('the feed reads a project in order after a position, since a time, in bounded reads', async () => {
      const { repos } = await open()
      for (let i = 1; i <= 5; i++) {
        repos.audit.append(record(i))
      }
      repos.audit.append(record(6, { projectId: 'p2' }))
      const first = await repos.audit.readAfter('p1', undefined, 0, 2)
      expect(first.map((f) => f.record.requestId)).toEqual(['req-1', 'req-2'])
      const rest = await repos.audit.readAfter('p1', first.at(-1)?.position, 0, 10)
      expect(rest.map((f) => f.record.requestId)).toEqual(['req-3', 'req-4', 'req-5'])
      expect(await repos.audit.readAfter('p1', rest.at(-1)?.position, 0, 10)).toEqual([])
      const since = await repos.audit.readAfter('p1', undefined, T0 + 4_000, 10)
      expect(since.map((f) => f.record.requestId)).toEqual(['req-4', 'req-5'])
      repos.audit.append(record(7))
      const next = await repos.audit.readAfter('p1', rest.at(-1)?.position, 0, 10)
      expect(next.map((f) => f.record.requestId)).toEqual(['req-7'])
    })

    test('flushed records survive a restart; the same trace id is kept once', async () => {
      const backend = await open()
      backend.repos.audit.append(record(1))
      backend.repos.audit.append(record(1))
      backend.repos.audit.flush()
      const repos = await backend.reopen()
      const { records } = await repos.audit.list({ projectId: 'p1', limit: 10 })
      expect(records).toEqual([record(1)])
    })

    test('prune removes records older than the retention, and only those', async () => {
      const { repos } = await open()
      repos.audit.append(record(1))
      repos.audit.append(record(5))
      await repos.audit.prune(new Date(T0 + 3_000))
      const { records } = await repos.audit.list({ projectId: 'p1', limit: 10 })
      expect(records.map((r) => r.requestId)).toEqual(['req-5'])
    })
  })
}
