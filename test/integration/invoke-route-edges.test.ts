/**
 * The lean sync invoke route (src/api/lean-invoke-route.ts) at its two edges that need a Strato of
 * their own: an upload the caller abandons is the caller's doing (CLIENT_CLOSED, logged at info,
 * never an INTERNAL error), and while Strato shuts down each answer says `Connection: close`, so
 * kept-alive clients leave a draining server.
 */
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { expect, test } from 'vitest'
import { StratoClient } from '../../src/client/index.js'
import {
  ACCESS_KEY,
  PROJECT_ID,
  SECRET_KEY,
  signedHeaderLines,
  signedHeaders,
  spawnStrato,
  startTestStrato,
  type StratoProcess,
  tmpDir,
  waitFor,
} from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

const invokePath = (name: string): string => `/v2/${PROJECT_ID}/fgs/functions/${name}/invocations`

test('an upload the caller abandons is logged as CLIENT_CLOSED at info, and the next call is served', async () => {
  const dataDir = tmpDir('strato-abandon-')
  let strato: StratoProcess | undefined
  try {
    strato = await spawnStrato(dataDir, { STRATO_LOG_LEVEL: 'info', STRATO_STEM_CELLS: '1' })
    const output = strato.output
    const client = new StratoClient({
      endpoint: strato.url,
      projectId: PROJECT_ID,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
    })
    await client.createFunction(inlineFunction('sink', 'exports.handler = async (e) => e'))
    const { port } = new URL(strato.url)
    const target = invokePath('sink')
    // The signature is over an empty body (the precheck runs before the body is read).
    const head = signedHeaderLines(`${strato.url}${target}`, '')
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${head}\r\ncontent-length: 1000\r\n\r\n{"half":`,
        )
        setTimeout(() => socket.destroy(), 100)
      })
      // The server may reset the cut-off connection: that is the point.
      socket.on('error', () => undefined)
      socket.on('close', () => resolve())
    })
    await waitFor(async () => Promise.resolve(output().includes('CLIENT_CLOSED')), 5_000)
    const line = output()
      .split('\n')
      .find((l) => l.includes('CLIENT_CLOSED'))
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 30, code: 'CLIENT_CLOSED' })
    expect(output()).not.toContain('"level":50')
    const next = await client.invoke('sink', '{"whole":true}')
    expect([next.status, next.result]).toEqual([200, '{"whole":true}'])
  } finally {
    await strato?.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

test('a call answered while Strato shuts down says Connection: close', async () => {
  const strato = await startTestStrato()
  const agent = new http.Agent({ keepAlive: true })
  let closing: Promise<void> | undefined
  try {
    await strato.client.createFunction(
      inlineFunction(
        'slow',
        'exports.handler = async () => { await new Promise((r) => setTimeout(r, 500)); return "done" }',
      ),
    )
    const url = `${strato.url}${invokePath('slow')}`
    const call = (): Promise<{ status: number; connection: string | undefined; body: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          url,
          { method: 'POST', agent, headers: signedHeaders(url, '{}') },
          (res) => {
            let body = ''
            res.on('data', (c: Buffer) => (body += c.toString()))
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
            )
          },
        )
        req.on('error', reject)
        req.end('{}')
      })
    const before = await call()
    expect([before.status, before.connection]).toEqual([200, 'keep-alive'])
    const during = call()
    // Close once the call runs on its instance (a fixed sleep could close before it was read).
    await waitFor(async () => {
      const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
        instances: { busy: number }
      }
      return info.instances.busy >= 1
    }, 5_000)
    closing = strato.close()
    const answered = await during
    expect([answered.status, answered.body, answered.connection]).toEqual([200, 'done', 'close'])
  } finally {
    agent.destroy()
    await (closing ?? strato.close())
  }
})
