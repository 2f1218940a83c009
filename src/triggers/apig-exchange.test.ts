import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { readBody } from './apig-exchange.js'

let server: http.Server | undefined

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve))
  server = undefined
})

/** Sends `send` to a server that answers with what `readBody` made of the request. */
async function roundTrip(
  send: (req: http.ClientRequest) => void,
  headers: http.OutgoingHttpHeaders,
  limit = 16,
): Promise<{ status: number; body: string; ended: boolean }> {
  let ended = false
  server = http.createServer((req, res) => {
    req.once('end', () => (ended = true))
    readBody(req, limit).then(
      (body) => res.end(`${body.length}:${body.toString('utf8')}`),
      (err: Error) => {
        res.statusCode = 413
        res.end(err.message)
      },
    )
  })
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ended,
        }),
      )
    })
    req.on('error', reject)
    send(req)
  })
}

describe('readBody', () => {
  test('no Content-Length and no Transfer-Encoding: an empty body, and the request still ends', async () => {
    const r = await roundTrip((req) => req.end(), {})
    expect(r).toEqual({ status: 200, body: '0:', ended: true })
  })

  test('a body announced by Content-Length', async () => {
    const r = await roundTrip((req) => req.end('hello'), { 'content-length': 5 })
    expect(r.body).toBe('5:hello')
  })

  test('a chunked body', async () => {
    const r = await roundTrip(
      (req) => {
        req.write('hel')
        req.end('lo')
      },
      { 'transfer-encoding': 'chunked' },
    )
    expect(r.body).toBe('5:hello')
  })

  test('more than the limit is refused: at once when announced, else by breaking off', async () => {
    const announced = await roundTrip((req) => req.end('x'.repeat(20)), { 'content-length': 20 })
    expect(announced.status).toBe(413)
    const chunked = roundTrip((req) => req.end('x'.repeat(20)), { 'transfer-encoding': 'chunked' })
    await expect(chunked).rejects.toThrow()
  })
})
