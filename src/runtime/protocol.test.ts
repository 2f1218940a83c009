import { expect, test } from 'vitest'
import { FrameDecoder, invokeFrameJson, type InvokeFrame } from './protocol.js'

function frame(header: object, payload = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(h.length, 0)
  prefix.writeUInt32BE(payload.length, 4)
  return Buffer.concat([prefix, h, payload])
}

test('protocol: frames split across chunks at any byte are reassembled in order', () => {
  const all = Buffer.concat([
    frame({ t: 'ready', out: 0 }),
    frame({ t: 'result', id: 1, ok: true, out: 12 }, Buffer.from('{"a":"é"}')),
  ])
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new FrameDecoder()
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))]
    expect(got.map((f) => f.header.t)).toEqual(['ready', 'result'])
    expect(got[1]?.payload.toString()).toBe('{"a":"é"}')
  }
})

test('protocol: a frame of an unknown type or without the output count is a protocol error', () => {
  expect(() => new FrameDecoder().push(frame({ t: 'evil', out: 0 }))).toThrow(/malformed/)
  expect(() => new FrameDecoder().push(frame({ t: 'ready' }))).toThrow(/malformed/)
})

test('protocol: an oversized frame is refused from its prefix, before it is buffered', () => {
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(10, 0)
  prefix.writeUInt32BE(512 * 1024 * 1024, 4)
  expect(() => new FrameDecoder().push(prefix)).toThrow(/too large/)
})

test('protocol: an invoke frame built by hand is the text JSON.stringify makes of it', () => {
  const frames: InvokeFrame[] = [
    {
      t: 'invoke',
      id: 7,
      requestId: '0193a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b',
      deadline: 1_733_500_000_123,
      invokeType: 'sync',
      alias: '',
      headers: {},
    },
    {
      t: 'invoke',
      id: 1,
      requestId: 'quote " back\\slash \n newline é \u2028 \u0001',
      deadline: 0,
      invokeType: 'async',
      alias: 'prod"alias',
      headers: { 'x-cff-trace-id': 'abc', 'we"ird': 'v\\al\tue', ü: '😀' },
    },
  ]
  for (const f of frames) {
    expect(invokeFrameJson(f)).toBe(JSON.stringify(f))
  }
})
