import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { ControlChannel } from './control-channel.js'
import { OutputLedger } from './output-ledger.js'
import type { GuestFrame } from './protocol.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) {
    c()
  }
})

/** Two connected unix sockets: the host's end and the guest's. */
async function socketPair(): Promise<{ host: net.Socket; guest: net.Socket }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-channel-'))
  const file = path.join(dir, 'sock')
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(file, resolve))
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
  const host = net.connect(file)
  const guest = await accepted
  cleanups.push(() => {
    host.destroy()
    guest.destroy()
    server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { host, guest }
}

function frame(header: object, payload = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(h.length, 0)
  prefix.writeUInt32BE(payload.length, 4)
  return Buffer.concat([prefix, h, payload])
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function until(condition: () => boolean): Promise<void> {
  const end = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > end) {
      throw new Error('timed out waiting')
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

test('control channel: frames sent in one turn leave together after it, between one cork and uncork', async () => {
  const { host, guest } = await socketPair()
  const calls: string[] = []
  const write = host.write.bind(host)
  const cork = host.cork.bind(host)
  const uncork = host.uncork.bind(host)
  host.cork = () => {
    calls.push('cork')
    cork()
  }
  host.uncork = () => {
    calls.push('uncork')
    uncork()
  }
  host.write = (chunk: Buffer) => {
    calls.push(`write ${chunk.length}`)
    return write(chunk)
  }
  const channel = new ControlChannel(
    host,
    new OutputLedger(),
    () => undefined,
    () => undefined,
  )
  const received: Buffer[] = []
  guest.on('data', (c: Buffer) => received.push(c))
  channel.send({ t: 'specialise', env: {} })
  channel.send(
    { t: 'invoke', id: 1, requestId: 'r', deadline: 0, invokeType: 'sync', alias: '', headers: {} },
    Buffer.from('{"a":1}'),
  )
  expect(calls).toEqual([]) // nothing leaves during the turn that sends
  await nextTurn()
  expect(calls[0]).toBe('cork')
  expect(calls.at(-1)).toBe('uncork')
  expect(calls.filter((c) => c === 'cork')).toHaveLength(1)
  expect(calls.filter((c) => c.startsWith('write'))).toHaveLength(3) // head, head, payload
  await until(() => Buffer.concat(received).subarray(-7).toString('utf8') === '{"a":1}')
  const bytes = Buffer.concat(received)
  expect(bytes.toString('utf8')).toContain('"t":"specialise"')
  expect(bytes.subarray(-7).toString('utf8')).toBe('{"a":1}')
})

test('control channel: a guest frame waits until fd 1 has delivered its out bytes', async () => {
  const { host, guest } = await socketPair()
  const ledger = new OutputLedger()
  const seen: GuestFrame[] = []
  const channel = new ControlChannel(
    host,
    ledger,
    (h) => seen.push(h),
    () => undefined,
  )
  guest.write(Buffer.concat([frame({ t: 'ready', out: 5 }), frame({ t: 'cell', out: 5 })]))
  await until(() => channel.undelivered === 2)
  expect(seen).toEqual([])
  ledger.receive(Buffer.from('abc'))
  channel.drain()
  expect(seen).toEqual([])
  ledger.receive(Buffer.from('de'))
  channel.drain()
  expect(seen.map((f) => f.t)).toEqual(['ready', 'cell'])
  expect(channel.undelivered).toBe(0)
})

test('control channel: an oversized frame is a protocol error, and nothing of it is delivered', async () => {
  const { host, guest } = await socketPair()
  const errors: string[] = []
  const seen: GuestFrame[] = []
  new ControlChannel(
    host,
    new OutputLedger(),
    (h) => seen.push(h),
    (m) => errors.push(m),
  )
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(1024 * 1024, 0)
  guest.write(prefix)
  await until(() => errors.length > 0)
  expect(errors).toHaveLength(1)
  expect(errors[0]).toContain('too large')
  expect(seen).toEqual([])
})
