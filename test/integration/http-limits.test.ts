import fs from 'node:fs'
import path from 'node:path'
/**
 * What Strato does with slow, abandoned and queued requests, and with idle instances.
 */
import net from 'node:net'
import { expect, test } from 'vitest'
import { PROJECT_ID, waitFor, signedHeaderLines, signedHeaders } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { b64, inlineFunction } from '../helpers/code.js'

const strato = useStrato({ STRATO_REQUEST_TIMEOUT_MS: '1500', STRATO_IDLE_TTL_MS: '1000' })

test('a body that never finishes arriving is cut with 408 FSS.0408 within about a second of the limit', async () => {
  const { port } = new URL(strato.url)
  const started = Date.now()
  // Correctly signed headers, so the request passes the checks made before the body is read.
  const body = JSON.stringify(inlineFunction('never-arrives', 'exports.handler = async () => 1'))
  const url = `${strato.url}/v2/${PROJECT_ID}/fgs/functions`
  const head = signedHeaderLines(url, body)
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `POST /v2/${PROJECT_ID}/fgs/functions HTTP/1.1\r\nhost: ${new URL(strato.url).host}\r\n${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`,
      )
    })
    let data = ''
    socket.on('data', (c) => (data += c.toString()))
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
  })
  const elapsed = Date.now() - started
  expect(answer).toMatch(/^HTTP\/1.1 408/)
  expect(answer).toContain('"error_code":"FSS.0408"')
  expect(elapsed).toBeGreaterThanOrEqual(1400)
  expect(elapsed).toBeLessThan(3500)
})

test('a queued request whose client went away never runs', async () => {
  const src = `let runs = 0
exports.handler = async (e) => { runs++; await new Promise(r => setTimeout(r, e.wait || 0)); return runs }`
  await strato.client.createFunction(
    inlineFunction('one-at-a-time', src, { strategy_config: { concurrency: 1 } }),
  )
  const path = `/v2/${PROJECT_ID}/fgs/functions/one-at-a-time/invocations`
  const send = (body: string, signal?: AbortSignal) => {
    const url = `${strato.url}${path}`
    return fetch(url, { method: 'POST', headers: signedHeaders(url, body), body, signal })
  }
  const first = send('{"wait":600}')
  await new Promise((r) => setTimeout(r, 100))
  const abandoned = new AbortController()
  const second = send('{"wait":0}', abandoned.signal).catch((e: unknown) => e)
  await new Promise((r) => setTimeout(r, 100))
  abandoned.abort()
  expect(await second).toBeInstanceOf(Error)
  expect(await (await first).text()).toBe('1')
  // The abandoned request would have been run number 2.
  expect(await (await send('{}')).text()).toBe('2')
})

test('requests queued when the code changes are still served, and later ones reach the new code', async () => {
  const v1 =
    'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.wait || 0)); return "v1" }'
  await strato.client.createFunction(
    inlineFunction('queued-update', v1, { strategy_config: { concurrency: 1 } }),
  )
  const busy = strato.client.invoke('queued-update', '{"wait":500}')
  await new Promise((r) => setTimeout(r, 100))
  const queued = strato.client.invoke('queued-update', '{}')
  await new Promise((r) => setTimeout(r, 50))
  await strato.client.updateCode('queued-update', {
    code_type: 'inline',
    func_code: { file: b64('exports.handler = async () => "v2"') },
  })
  expect((await busy).result).toBe('v1')
  const q = await queued
  expect(q.isFunctionError).toBe(false)
  expect(q.result).toBe('v1')
  expect((await strato.client.invoke('queued-update', '{}')).result).toBe('v2')
})

test('an idle instance is stopped after STRATO_IDLE_TTL_MS', async () => {
  await strato.client.createFunction(
    inlineFunction('goes-idle', 'exports.handler = async () => process.env.STRATO_INSTANCE_ID'),
  )
  const id = (await strato.client.invoke('goes-idle', '{}')).result
  const dir = path.join(strato.dataDir, 'instances', id)
  expect(fs.existsSync(dir)).toBe(true)
  await waitFor(() => !fs.existsSync(dir), 5_000)
  const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
    instances: { idle: number }
  }
  expect(info.instances.idle).toBe(0)
})

test('an unsigned upload is refused with 401 before its body is read', async () => {
  const { port } = new URL(strato.url)
  const started = Date.now()
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      // Announces 60 MB and sends none of it: the answer must not wait for the body.
      socket.write(
        `POST /v2/${PROJECT_ID}/fgs/functions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${60 * 1024 * 1024}\r\n\r\n`,
      )
    })
    let data = ''
    socket.on('data', (c) => {
      data += c.toString()
      if (data.includes('\r\n\r\n') && data.includes('}')) {
        socket.destroy()
        resolve(data)
      }
    })
    socket.on('error', reject)
  })
  expect(answer).toMatch(/^HTTP\/1.1 401/)
  expect(answer).toContain('"error_code":"FSS.0401"')
  expect(Date.now() - started).toBeLessThan(1000)
})
