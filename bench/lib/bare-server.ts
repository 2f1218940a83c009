/**
 * The bare server Strato is compared with: the same hello handler behind `node:http` in its own
 * process, reading and JSON-parsing the body and answering `JSON.stringify(result)`.
 */
import http from 'node:http'
import { waitUntilReady, type Child, type ChildProcesses } from './child-processes.js'
import { freePort } from './free-port.js'
import { sendRequest } from './http-request.js'

/** The function under test, byte for byte the same in Strato and in the bare server. */
export const HELLO_HANDLER_SOURCE =
  "exports.handler = async (event) => ({ statusCode: 200, body: 'hello' })\n"
export const EVENT_BODY = '{"hello":"world"}'

const BARE_SERVER_SOURCE = `${HELLO_HANDLER_SOURCE}
const http = require('node:http')
const handler = exports.handler
const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    let event
    try {
      const text = Buffer.concat(chunks).toString('utf8')
      event = text === '' ? {} : JSON.parse(text)
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end(String(err))
      return
    }
    handler(event).then(
      (result) => {
        const body = JSON.stringify(result)
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      },
      (err) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(err))
      },
    )
  })
})
server.keepAliveTimeout = 65000
server.listen(Number(process.env.BARE_PORT), '127.0.0.1')
`

export interface BareServer {
  readonly child: Child
  readonly url: string
}

export async function startBareServer(processes: ChildProcesses): Promise<BareServer> {
  const port = await freePort()
  const child = processes.start('bare node:http server', ['-e', BARE_SERVER_SOURCE], {
    PATH: process.env.PATH,
    BARE_PORT: String(port),
  })
  child.proc.stdout?.resume()
  child.proc.stderr?.on('data', (c: Buffer) => process.stderr.write(`[bare] ${c.toString('utf8')}`))
  const url = `http://127.0.0.1:${port}/`
  const agent = new http.Agent({ keepAlive: false })
  await waitUntilReady(
    'bare server',
    child,
    async () => (await sendRequest(agent, url, 'POST', {}, EVENT_BODY)).status === 200,
  )
  return { child, url }
}
