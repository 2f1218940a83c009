/**
 * The contract of the tracing switch (updateTracing / showTracing): off until set, every read
 * (the cached `isOn` included) sees the last write, it survives a restart and goes with its
 * function; and the trace context an async event is accepted in comes back with its lease.
 */
import { describe, expect, test } from 'vitest'
import { backendPerTest, createFunction, type OpenBackend } from './store-harness.js'

export function describeTracingRepositoryContract(
  name: string,
  openBackend: OpenBackend,
  options: {
    /** False while the backend has no async queue of its own yet (PostgreSQL until it joins). */
    readonly asyncQueue?: boolean
  } = {},
): void {
  describe(`TracingRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('off by default; on, off and on again: isOn and get see each write', async () => {
      const { repos } = await open()
      const fn = await createFunction(repos, 'traced')
      expect(await repos.tracing.isOn(fn.id)).toBe(false) // a cached miss
      expect(await repos.tracing.get(fn.id)).toBeUndefined()
      const on = await repos.tracing.put(fn.id, 'ak-1', 'sealed-sk')
      expect(on).toMatchObject({
        functionId: fn.id,
        tracingAk: 'ak-1',
        tracingSkSealed: 'sealed-sk',
      })
      // Known once written: answered without a promise.
      expect(repos.tracing.isOn(fn.id)).toBe(true)
      expect(await repos.tracing.get(fn.id)).toEqual(on)
      await repos.tracing.put(fn.id, '', '')
      expect(repos.tracing.isOn(fn.id)).toBe(false)
      expect(await repos.tracing.get(fn.id)).toMatchObject({ tracingAk: '', tracingSkSealed: '' })
      await repos.tracing.put(fn.id, 'ak-2', '')
      expect(await repos.tracing.isOn(fn.id)).toBe(true)
      // Another function is untouched.
      const other = await createFunction(repos, 'untraced')
      expect(await repos.tracing.isOn(other.id)).toBe(false)
    })

    test('the switch survives a restart and goes when its function is deleted', async () => {
      const backend = await open()
      const fn = await createFunction(backend.repos, 'kept')
      await backend.repos.tracing.put(fn.id, 'ak', 'sk-sealed')
      const reopened = await backend.reopen()
      expect(await reopened.tracing.isOn(fn.id)).toBe(true)
      expect(await reopened.tracing.get(fn.id)).toMatchObject({ tracingAk: 'ak' })
      await reopened.functions.delete(fn)
      const again = await backend.reopen()
      expect(await again.tracing.get(fn.id)).toBeUndefined()
    })

    test.runIf(options.asyncQueue ?? true)(
      'an async event keeps the trace context it was accepted in, across a restart',
      async () => {
        const backend = await open()
        const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
        const event = {
          projectId: 'p1',
          functionId: 'f1',
          functionUrn: 'urn:fss:r:p1:function:default:f:latest',
          qualifier: 'latest',
          payload: Buffer.from('{}'),
          acceptedAtMs: Date.now(),
          timeoutMs: 1_000,
        }
        await backend.repos.asyncQueue.enqueue({ ...event, requestId: 'with', traceparent })
        await backend.repos.asyncQueue.enqueue({ ...event, requestId: 'without' })
        const reopened = await backend.reopen()
        const leased = await reopened.asyncQueue.lease({
          max: 10,
          nowMs: Date.now(),
          room: () => 10,
        })
        const byId = new Map(leased.map((e) => [e.requestId, e]))
        expect(byId.get('with')?.traceparent).toBe(traceparent)
        expect(byId.get('without')?.traceparent).toBeUndefined()
      },
    )
  })
}
