import { expect, test } from 'vitest'
import { Limits, isStratoError } from '../core/index.js'
import type { ControlChannel } from './control-channel.js'
import { FrameTransport } from './frame-transport.js'
import type { GuestOutcome, InvokeInput } from './guest-outcome.js'
import type { Invocation, TransportHost } from './guest-transport.js'
import type { HostFrame } from './protocol.js'

/** A host with one invocation (id 1) in flight, recording what the transport asked of it. */
function setUp(pidsLimitHits = 0) {
  const outcomes: GuestOutcome[] = []
  const rejections: unknown[] = []
  const sent: Array<{ frame: HostFrame; payload: Buffer | undefined }> = []
  const calls: string[] = []
  const inflight = new Map<number, Invocation>()
  inflight.set(1, {
    id: 1,
    requestId: 'req-1',
    resolve: (o) => outcomes.push(o),
    reject: (e) => rejections.push(e),
    timer: setTimeout(() => undefined, 0),
    timeoutMs: 3000,
    exitCode: undefined,
    log: '',
  })
  const host: TransportHost = {
    instanceId: 'i-1',
    ending: () => false,
    finish: (id, outputEnd, answered) => {
      calls.push(`finish ${id} ${outputEnd} ${answered}`)
      const found = inflight.get(id)
      inflight.delete(id)
      if (found !== undefined) {
        found.log = 'the log'
      }
      return found
    },
    noteGuestExit: (id, code) => {
      const found = inflight.get(id)
      if (found !== undefined) {
        found.exitCode = code
      }
    },
    failureOutcome: (f) => ({
      ok: false,
      body: f.toErrorJson(),
      text: false,
      errorType: f.errorType,
      memoryUsedMb: 42,
      log: f.log,
    }),
    evidence: () => ({
      events: { oomKills: 0, pidsLimitHits },
      stderrTail: '',
      memorySizeMb: 128,
      processLimit: 1024,
    }),
    recentMemoryUsedMb: () => 42,
    stop: () => {
      calls.push('stop')
      return Promise.resolve()
    },
  }
  const channel = {
    send: (frame: HostFrame, payload?: Buffer) => sent.push({ frame, payload }),
  } as unknown as ControlChannel
  return {
    transport: new FrameTransport(host, channel),
    outcomes,
    rejections,
    sent,
    calls,
    inflight,
  }
}

const input: InvokeInput = {
  requestId: 'req-1',
  payload: Buffer.from('{"k":1}'),
  timeoutMs: 3000,
  invokeType: 'sync',
  alias: 'prod',
  headers: {},
}

test('frame transport: an invocation leaves as one invoke frame with its event bytes untouched', () => {
  const { transport, sent } = setUp()
  const before = Date.now()
  transport.send(1, input)
  expect(sent).toHaveLength(1)
  const { frame, payload } = sent[0]!
  expect(frame).toMatchObject({
    t: 'invoke',
    id: 1,
    requestId: 'req-1',
    invokeType: 'sync',
    alias: 'prod',
  })
  expect(frame.t === 'invoke' && frame.deadline >= before + 3000).toBe(true)
  expect(payload).toBe(input.payload)
  expect(transport.refuses(input)).toBeUndefined()
  expect(
    transport.refuses({ ...input, http: { method: 'GET', path: '/', query: '', headers: {} } }),
  ).toContain("not an HTTP function's instance")
})

test('frame transport: a result ends its invocation with the output up to its out count', () => {
  const { transport, outcomes, calls } = setUp()
  transport.onGuestFrame(
    { t: 'result', id: 1, out: 17, ok: true, text: true, mem: 12 },
    Buffer.from('hi'),
  )
  expect(calls).toEqual(['finish 1 17 true'])
  expect(outcomes).toEqual([
    {
      ok: true,
      body: Buffer.from('hi'),
      text: true,
      errorType: undefined,
      memoryUsedMb: 12,
      log: 'the log',
    },
  ])
  // A late result for an invocation that already ended is dropped.
  transport.onGuestFrame({ t: 'result', id: 1, out: 20, ok: true }, Buffer.from('late'))
  expect(outcomes).toHaveLength(1)
})

test('frame transport: a non-JSON event is INVALID_EVENT; an oversized result is ResponseTooLarge', () => {
  const bad = setUp()
  bad.transport.onGuestFrame(
    { t: 'result', id: 1, out: 0, badEvent: true, message: 'Unexpected token' },
    Buffer.alloc(0),
  )
  expect(isStratoError(bad.rejections[0], 'INVALID_EVENT')).toBe(true)
  const big = setUp()
  big.transport.onGuestFrame(
    { t: 'result', id: 1, out: 0, ok: true },
    Buffer.alloc(Limits.SYNC_PAYLOAD_MAX_BYTES + 1),
  )
  expect(big.outcomes[0]).toMatchObject({
    ok: false,
    errorType: 'ResponseTooLarge',
    log: 'the log',
  })
  expect(big.calls).not.toContain('stop')
})

test('frame transport: a failed result that spent the instance stops it; an ordinary one does not', () => {
  const fds = setUp()
  fds.transport.onGuestFrame(
    { t: 'result', id: 1, out: 0, ok: false, errorType: 'Error', fdsExhausted: true },
    Buffer.from('{"errorMessage":"EMFILE"}'),
  )
  expect(fds.calls).toContain('stop')
  expect(fds.outcomes[0]).toMatchObject({ ok: false, errorType: 'TooManyOpenFiles' })
  const pids = setUp(1)
  pids.transport.onGuestFrame(
    { t: 'result', id: 1, out: 0, ok: false, errorType: 'Error' },
    Buffer.from('{}'),
  )
  expect(pids.outcomes[0]).toMatchObject({ errorType: 'ProcessLimitExceeded' })
  const plain = setUp()
  plain.transport.onGuestFrame(
    { t: 'result', id: 1, out: 0, ok: false, errorType: 'TypeError' },
    Buffer.from('{"e":1}'),
  )
  expect(plain.calls).not.toContain('stop')
  expect(plain.outcomes[0]).toMatchObject({
    ok: false,
    errorType: 'TypeError',
    body: Buffer.from('{"e":1}'),
  })
})

test("frame transport: the guest's exit frame is noted on the invocation for the death's verdict", () => {
  const { transport, inflight } = setUp()
  transport.onGuestFrame({ t: 'exit', id: 1, code: 3, out: 0 }, Buffer.alloc(0))
  expect(inflight.get(1)?.exitCode).toBe(3)
})

test('frame transport: a result whose guest is exiting (a PHP fatal error) is answered as it is, and stops the instance', () => {
  const { transport, outcomes, calls } = setUp()
  transport.onGuestFrame(
    { t: 'result', id: 1, out: 5, ok: false, errorType: 'FatalError', mem: 9, exiting: true },
    Buffer.from('{"errorMessage":"cannot go on"}'),
  )
  expect(calls).toEqual(['finish 1 5 true', 'stop'])
  expect(outcomes[0]).toMatchObject({
    ok: false,
    errorType: 'FatalError',
    body: Buffer.from('{"errorMessage":"cannot go on"}'),
    memoryUsedMb: 9,
  })
})
