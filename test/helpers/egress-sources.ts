/**
 * The code function-egress.test.ts runs: the test host's server and resolver, and the functions
 * that probe the network from inside an instance (plain Node.js, nothing to install).
 */

/** The test host's server: /hello, /big (2 MB down), /sink (counts what is sent), /hold. */
export const TEST_HOST_SERVER = `
const http = require('http')
const big = Buffer.alloc(2 * 1024 * 1024, 120)
http.createServer((req, res) => {
  if (req.url === '/hello') return res.end('hi from the test host')
  if (req.url === '/big') return res.end(big)
  if (req.url === '/sink') { let n = 0; req.on('data', (c) => (n += c.length)); req.on('end', () => res.end(String(n))); return }
  if (req.url === '/hold') return // keeps the connection open
  res.statusCode = 404; res.end()
}).listen(8080, '0.0.0.0', () => console.log('listening'))
// A resolver that knows one name: what the instances' DNS (the gateway's port 53) leads to.
const dns = require('dgram').createSocket('udp4')
dns.on('message', (q, peer) => {
  let o = 12
  const labels = []
  while (q[o] !== 0) { labels.push(q.subarray(o + 1, o + 1 + q[o]).toString()); o += 1 + q[o] }
  const question = q.subarray(12, o + 5)
  const known = labels.join('.') === 'test-host.strato.test' && q.readUInt16BE(o + 1) === 1
  const head = Buffer.from([q[0], q[1], 0x81, known ? 0x80 : 0x83, 0, 1, 0, known ? 1 : 0, 0, 0, 0, 0])
  const answer = known ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...process.argv[1].split('.').map(Number)]) : Buffer.alloc(0)
  dns.send(Buffer.concat([head, question, answer]), peer.port, peer.address)
})
dns.bind(53, '0.0.0.0')
`

/** A function that tries TCP connections: `{ targets: [[host, port]], path? }` → outcome each. */
export const PROBE = `
const net = require('net')
const http = require('http')
const fs = require('fs')
function tryConnect(host, port, ms) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    const done = (v) => { s.destroy(); resolve(v) }
    s.setTimeout(ms, () => done('timeout'))
    s.on('connect', () => done('open'))
    s.on('error', (e) => done(e.code || e.message))
  })
}
function get(url, ms) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: ms }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b)) })
    req.on('timeout', () => { req.destroy(); resolve('timeout') })
    req.on('error', (e) => resolve(e.code || e.message))
  })
}
exports.handler = async (e) => {
  if (e.get) return { body: await get(e.get, 3000) }
  if (e.lookup) return await new Promise((resolve) => require('dns').lookup(e.lookup, { family: 4 }, (err, address) => resolve(err ? { error: err.code } : { address })))
  if (e.etc) return { resolv: fs.readFileSync('/etc/resolv.conf', 'utf8'), hosts: fs.readFileSync('/etc/hosts', 'utf8'), ifs: require('os').networkInterfaces() }
  const out = []
  const queue = [...e.targets]
  const workers = Array.from({ length: e.parallel || 8 }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) out.push([t[0], t[1], await tryConnect(t[0], t[1], e.ms || 1500)])
  })
  await Promise.all(workers)
  return { out }
}
`

/**
 * PROBE, plus a PostgreSQL client of its own (startup message, trust auth, one simple query):
 * `{ sql }` → `{ rows }` from `host.strato.internal:5432`, or `{ error }`.
 */
export const PG_PROBE = `
${PROBE.replace('exports.handler', 'const probe')}
function query(host, sql) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: 5432 })
    const params = Buffer.from('user\\0postgres\\0database\\0test\\0\\0')
    const start = Buffer.alloc(8); start.writeInt32BE(8 + params.length, 0); start.writeInt32BE(196608, 4)
    s.write(Buffer.concat([start, params]))
    let buf = Buffer.alloc(0); let sent = false; const rows = []
    s.setTimeout(3000, () => { s.destroy(); resolve({ error: 'timeout' }) })
    s.on('error', (err) => resolve({ error: err.code || err.message }))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 5) {
        const type = String.fromCharCode(buf[0]); const len = buf.readInt32BE(1)
        if (buf.length < 1 + len) break
        const body = buf.subarray(5, 1 + len); buf = buf.subarray(1 + len)
        if (type === 'Z' && !sent) { sent = true; const q = Buffer.from(sql + '\\0'); const h = Buffer.alloc(5); h.write('Q'); h.writeInt32BE(4 + q.length, 1); s.write(Buffer.concat([h, q])) }
        else if (type === 'D') { const n = body.readInt16BE(0); let o = 2; const row = []; for (let i = 0; i < n; i++) { const l = body.readInt32BE(o); o += 4; row.push(l < 0 ? null : body.subarray(o, o + l).toString()); o += Math.max(l, 0) } rows.push(row) }
        else if (type === 'E') { s.destroy(); resolve({ error: body.toString() }); return }
        else if (type === 'Z') { s.end(); resolve({ rows }); return }
      }
    })
  })
}
exports.handler = async (e) => e.sql ? query('host.strato.internal', e.sql) : probe(e)
`
