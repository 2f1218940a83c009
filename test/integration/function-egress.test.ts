/**
 * Function egress against the real sandbox and real networking (ADR 0023). Every address used is
 * a test host this file makes itself: a network namespace with a veth to the host, holding
 * 10.99.N.2 (opened for every function by STRATO_EGRESS_ALLOW), 10.98.N.2 (opened by nobody but
 * the `side` network) and 169.254.169.254 (the metadata address). Nothing is sent anywhere else.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { inlineFunction } from '../helpers/code.js'
import { PG_PROBE, PROBE, TEST_HOST_SERVER } from '../helpers/egress-sources.js'
import { sandboxScope } from '../../src/runtime/index.js'
import {
  spawnStrato,
  startTestStrato,
  tmpDir,
  waitFor,
  type TestStrato,
} from '../helpers/strato.js'

function which(tool: string): boolean {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => fs.existsSync(`${d}/${tool}`))
}

const skipReason =
  process.getuid?.() !== 0
    ? 'not root: no network namespaces, instances keep only their loopback'
    : !['nft', 'ip', 'tc', 'nsenter', 'bwrap'].every(which)
      ? 'nftables, iproute2, util-linux or bubblewrap missing (scripts/setup-system.sh installs them)'
      : undefined

const K = 1 + (process.pid % 200)
const NS = `stxhost${process.pid}`
const HOST_IF = `stxh${process.pid % 100000}`
const OPEN_HOST = `10.99.${K}.2`
const CLOSED_HOST = `10.98.${K}.2`
const METADATA = '169.254.169.254'
const RATE_MBIT = 8
const MAX_CONNECTIONS = 16
const TABLE = `strato_egress_probe_${process.pid}`

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' })
}

let server: ChildProcess | undefined
let strato: TestStrato
let client: StratoClient
let stratoPort: number
/** Stands for any service the host offers on all its addresses. */
let hostService: http.Server
let hostServicePort: number
let closedByTest = false

function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address)
}

beforeAll(async () => {
  if (skipReason !== undefined) {
    return
  }
  // The test host.
  sh('ip', ['netns', 'add', NS])
  sh('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS])
  sh('ip', ['addr', 'add', `10.99.${K}.1/24`, 'dev', HOST_IF])
  sh('ip', ['addr', 'add', `10.98.${K}.1/24`, 'dev', HOST_IF])
  sh('ip', ['link', 'set', HOST_IF, 'up'])
  sh('ip', ['route', 'add', `${METADATA}/32`, 'dev', HOST_IF])
  for (const a of [`${OPEN_HOST}/24`, `${CLOSED_HOST}/24`, `${METADATA}/32`]) {
    sh('ip', ['-n', NS, 'addr', 'add', a, 'dev', 'eth0'])
  }
  sh('ip', ['-n', NS, 'link', 'set', 'eth0', 'up'])
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
  sh('ip', ['-n', NS, 'route', 'add', 'default', 'via', `10.99.${K}.1`])
  server = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', TEST_HOST_SERVER, OPEN_HOST], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.once('data', () => resolve())
    server?.once('exit', (code) => reject(new Error(`test host server exited ${code}`)))
  })
  // The probe row the `db` network's function reads.
  sh('psql', [
    '-h',
    '127.0.0.1',
    '-U',
    'postgres',
    '-d',
    'test',
    '-qc',
    `create table if not exists ${TABLE} (v text); insert into ${TABLE} values ('row through the db network')`,
  ])
  hostService = http.createServer((_req, res) => res.end('host service'))
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r))
  hostServicePort = (hostService.address() as AddressInfo).port
  strato = await startTestStrato({
    // On every address, as a deployment would be: the gateway's and the host's too.
    STRATO_HOST: '0.0.0.0',
    STRATO_EGRESS_ALLOW: `10.99.${K}.0/24`,
    STRATO_NETWORKS: JSON.stringify({
      db: ['127.0.0.1:5432'],
      side: [`${CLOSED_HOST}:8080`],
      // A block holding one of the host's own addresses (10.98.K.1, the test veth's host end).
      wide: [`10.98.${K}.0/24`],
    }),
    STRATO_EGRESS_RATE_MBIT: String(RATE_MBIT),
    STRATO_EGRESS_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    // The test host's resolver, not the machine's: no query leaves the test's hosts.
    STRATO_EGRESS_DNS: OPEN_HOST,
  })
  client = strato.client
  stratoPort = Number(new URL(strato.url).port)
}, 120_000)

afterAll(async () => {
  if (skipReason !== undefined) {
    return
  }
  if (!closedByTest) {
    await strato?.close()
  }
  hostService?.close()
  server?.kill('SIGKILL')
  for (const args of [
    ['netns', 'del', NS],
    ['link', 'del', HOST_IF],
  ]) {
    try {
      sh('ip', args)
    } catch {
      // already gone
    }
  }
  try {
    sh('psql', [
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-d',
      'test',
      '-qc',
      `drop table if exists ${TABLE}`,
    ])
  } catch {
    // the server may be gone
  }
})

let n = 0
async function deploy(source: string, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `egress-${++n}`
  await client.createFunction(inlineFunction(name, source, { timeout: 60, ...extra }))
  return name
}

async function run(name: string, event: unknown): Promise<Record<string, unknown>> {
  const res = await client.invoke(name, JSON.stringify(event))
  expect(res.isFunctionError, res.result).toBe(false)
  return JSON.parse(res.result) as Record<string, unknown>
}

function outcomes(r: Record<string, unknown>): Array<[string, number, string]> {
  return r.out as Array<[string, number, string]>
}

// The reason a run skips is in the suite's name.
describe.skipIf(skipReason !== undefined)(
  `function egress (FunctionGraph semantics)${skipReason === undefined ? '' : `: skipped, ${skipReason}`}`,
  () => {
    let gateway: string

    test('an instance reaches a host outside its namespace (opened by STRATO_EGRESS_ALLOW); DNS points at the gateway', async () => {
      const fn = await deploy(PROBE)
      expect((await run(fn, { get: `http://${OPEN_HOST}:8080/hello` })).body).toBe(
        'hi from the test host',
      )
      const etc = await run(fn, { etc: true })
      gateway = /^(\S+) host\.strato\.internal$/m.exec(String(etc.hosts))?.[1] ?? ''
      expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
      expect(String(etc.resolv)).toContain(`nameserver ${gateway}`)
      expect(Object.keys(etc.ifs as object).sort()).toEqual(['eth0', 'lo'])
      expect(await run(fn, { lookup: 'test-host.strato.test' })).toEqual({ address: OPEN_HOST })
      expect((await run(fn, { get: 'http://test-host.strato.test:8080/hello' })).body).toBe(
        'hi from the test host',
      )
    })

    test('it cannot reach Strato, host services, a private or link-local address nobody opened, or PostgreSQL without its network', async () => {
      // Each of these answers from the host itself: the block is the policy's, not an absence.
      for (const [host, port] of [
        [CLOSED_HOST, 8080],
        [METADATA, 8080],
        ['127.0.0.1', stratoPort],
        ['127.0.0.1', 5432],
      ] as const) {
        await new Promise<void>((resolve, reject) => {
          const probe = http.get({ host, port, path: '/hello', timeout: 2000 }, (res) => {
            res.resume()
            resolve()
          })
          probe.on('error', (err) => (port === 5432 ? resolve() : reject(err)))
        })
      }
      const fn = await deploy(PROBE)
      const targets = [
        [CLOSED_HOST, 8080],
        [METADATA, 8080],
        [METADATA, 80],
        [gateway, stratoPort],
        [gateway, hostServicePort],
        [gateway, 5432],
        ['host.strato.internal', 5432],
        ...hostAddresses().flatMap((a) => [
          [a, stratoPort],
          [a, hostServicePort],
          [a, 5432],
        ]),
        [OPEN_HOST, 8080], // the one that is open
      ]
      const r = outcomes(await run(fn, { targets }))
      const open = r.filter(([, , o]) => o === 'open').map(([h, p]) => `${h}:${p}`)
      expect(open).toEqual([`${OPEN_HOST}:8080`])
    })

    test('a port scan of the host from an instance finds nothing open', async () => {
      const fn = await deploy(PROBE)
      const ports = [
        ...Array.from({ length: 1024 }, (_, i) => i + 1),
        3306,
        4222,
        5432,
        5672,
        6379,
        1883,
        stratoPort,
        hostServicePort,
      ]
      const hosts = [gateway, ...hostAddresses()]
      const targets = hosts.flatMap((h) => ports.map((p) => [h, p]))
      const r = outcomes(await run(fn, { targets, parallel: 12, ms: 1000 }))
      expect(r.length).toBe(targets.length)
      expect(r.filter(([, , o]) => o === 'open')).toEqual([])
      // A scan that can find something: the test host's server, through the same code.
      const control = outcomes(await run(fn, { targets: [[OPEN_HOST, 8080]] }))
      expect(control[0]?.[2]).toBe('open')
    }, 120_000)

    test('an instance cannot reach another instance', async () => {
      const listener = await deploy(`
const net = require('net')
let server
exports.handler = async (e) => {
  if (!server) { server = net.createServer((s) => s.end('instance here')); await new Promise((r) => server.listen(9000, '0.0.0.0', r)) }
  const addr = require('os').networkInterfaces().eth0.find((a) => a.family === 'IPv4').address
  const self = await new Promise((resolve) => { const s = net.connect(9000, addr); s.on('data', (d) => { resolve(String(d)); s.destroy() }); s.on('error', (err) => resolve(err.code)) })
  return { addr, self }
}`)
      const a = await run(listener, {})
      expect(a.self).toBe('instance here')
      const fn = await deploy(PROBE)
      const r = outcomes(await run(fn, { targets: [[a.addr, 9000]] }))
      expect(r[0]?.[2]).not.toBe('open')
    })

    test('network_controller.disable_public_network: the instance reaches nothing', async () => {
      const fn = await deploy(PROBE, { network_controller: { disable_public_network: true } })
      const r = outcomes(
        await run(fn, {
          targets: [
            [OPEN_HOST, 8080],
            [gateway, 53],
          ],
          ms: 1000,
        }),
      )
      expect(r.map(([, , o]) => o)).not.toContain('open')
      // A string "true" would have been stored and left the function open: refused, named.
      const refused = await deploy(PROBE, {
        network_controller: { disable_public_network: 'true' },
      }).catch((err: Error) => err)
      expect(refused).toBeInstanceOf(Error)
      expect((refused as Error).message).toContain('network_controller.disable_public_network')
    })

    test('a function on the db network reads a row from the host PostgreSQL at 127.0.0.1:5432, and reaches nothing else', async () => {
      const fn = await deploy(PG_PROBE, { func_vpc: { vpc_id: 'db', subnet_id: 'db' } })
      expect(await run(fn, { sql: `select v from ${TABLE}` })).toEqual({
        rows: [['row through the db network']],
      })
      const r = outcomes(
        await run(fn, {
          targets: [
            [OPEN_HOST, 8080],
            [gateway, 6379],
            [gateway, stratoPort],
          ],
        }),
      )
      expect(r.map(([, , o]) => o)).not.toContain('open')
    })

    test('a network opening one host:port reaches exactly that', async () => {
      const fn = await deploy(PROBE, { func_vpc: { vpc_id: 'side', subnet_id: 'side' } })
      const r = outcomes(
        await run(fn, {
          targets: [
            [CLOSED_HOST, 8080],
            [CLOSED_HOST, 22],
            [OPEN_HOST, 8080],
          ],
          ms: 1000,
        }),
      )
      expect(Object.fromEntries(r.map(([h, p, o]) => [`${h}:${p}`, o === 'open']))).toEqual({
        [`${CLOSED_HOST}:8080`]: true,
        [`${CLOSED_HOST}:22`]: false,
        [`${OPEN_HOST}:8080`]: false,
      })
    })

    test("a network's CIDR holding a host address opens the hosts beyond, not the host's own ports", async () => {
      const fn = await deploy(PROBE, { func_vpc: { vpc_id: 'wide', subnet_id: 'wide' } })
      const r = outcomes(
        await run(fn, {
          targets: [
            [CLOSED_HOST, 8080],
            [`10.98.${K}.1`, hostServicePort],
            [`10.98.${K}.1`, stratoPort],
            [gateway, hostServicePort],
            [gateway, stratoPort],
          ],
          ms: 1000,
        }),
      )
      expect(Object.fromEntries(r.map(([h, p, o]) => [`${h}:${p}`, o === 'open']))).toEqual({
        [`${CLOSED_HOST}:8080`]: true,
        [`10.98.${K}.1:${hostServicePort}`]: false,
        [`10.98.${K}.1:${stratoPort}`]: false,
        [`${gateway}:${hostServicePort}`]: false,
        [`${gateway}:${stratoPort}`]: false,
      })
    })

    test('a func_vpc naming no network is refused at create; one whose network the operator removed fails the start, naming it', async () => {
      const refused = await deploy(PROBE, {
        func_vpc: { vpc_id: 'nope', subnet_id: 'nope' },
      }).catch((err: Error) => err)
      expect(refused).toBeInstanceOf(Error)
      expect((refused as Error).message).toContain("network 'nope'")
      // Stored while the network existed, started after a restart without it.
      const dataDir = tmpDir()
      const networks = (names: Record<string, string[]>): Record<string, string> => ({
        STRATO_NETWORKS: JSON.stringify(names),
      })
      let s = await startTestStrato(
        networks({ db: ['127.0.0.1:5432'], gone: ['10.77.0.0/24'] }),
        dataDir,
      )
      try {
        await s.client.createFunction(
          inlineFunction('probe', PROBE, {
            timeout: 30,
            func_vpc: { vpc_id: 'gone', subnet_id: 'x' },
          }),
        )
        await s.close()
        s = await startTestStrato(networks({ db: ['127.0.0.1:5432'] }), dataDir)
        const res = await s.client.invoke('probe', '{}').catch((err: Error) => err)
        expect(String(res instanceof Error ? res.message : JSON.stringify(res))).toContain("'gone'")
      } finally {
        await s.close()
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
    })

    test(`bandwidth is bounded (${RATE_MBIT} Mbit/s each way) and so are connections (${MAX_CONNECTIONS})`, async () => {
      const fn = await deploy(`
const http = require('http')
const net = require('net')
exports.handler = async (e) => {
  const t0 = Date.now()
  const down = await new Promise((resolve, reject) => http.get(e.base + '/big', { agent: false }, (res) => { let n = 0; res.on('data', (c) => (n += c.length)); res.on('end', () => resolve(n)) }).on('error', reject))
  const t1 = Date.now()
  const up = await new Promise((resolve, reject) => { const req = http.request(e.base + '/sink', { method: 'POST', agent: false }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(Number(b))) }); req.on('error', reject); req.end(Buffer.alloc(2 * 1024 * 1024, 1)) })
  const t2 = Date.now()
  const sockets = []
  let opened = 0
  for (let i = 0; i < 2 * e.max; i++) {
    await new Promise((resolve) => {
      const s = net.connect(8080, e.host); sockets.push(s)
      s.setTimeout(2000, resolve)
      s.on('connect', () => { opened++; resolve() })
      s.on('error', resolve)
    })
  }
  sockets.forEach((s) => s.destroy())
  return { down, downMs: t1 - t0, up, upMs: t2 - t1, opened }
}`)
      const r = await run(fn, {
        base: `http://${OPEN_HOST}:8080`,
        host: OPEN_HOST,
        max: MAX_CONNECTIONS,
      })
      const mbit = (bytes: number, ms: number): number => (bytes * 8) / 1e6 / (ms / 1000)
      expect(r.down).toBe(2 * 1024 * 1024)
      expect(r.up).toBe(2 * 1024 * 1024)
      expect(mbit(Number(r.down), Number(r.downMs))).toBeLessThan(RATE_MBIT * 1.3)
      expect(mbit(Number(r.up), Number(r.upMs))).toBeLessThan(RATE_MBIT * 1.3)
      // Connections closed a moment ago may still be counted; never more than the bound.
      expect(Number(r.opened)).toBeLessThanOrEqual(MAX_CONNECTIONS)
      expect(Number(r.opened)).toBeGreaterThanOrEqual(MAX_CONNECTIONS - 2)
    })

    test('/strato/info says egress is on; with STRATO_EGRESS=off instances have only lo, and info says why', async () => {
      const info = async (url: string): Promise<unknown> =>
        ((await (await fetch(`${url}/strato/info`)).json()) as { egress: unknown }).egress
      expect(await info(strato.url)).toEqual({ enabled: true })
      const off = await startTestStrato({ STRATO_EGRESS: 'off' })
      try {
        expect(await info(off.url)).toEqual({
          enabled: false,
          reason: 'STRATO_EGRESS=off: instances have only their loopback',
        })
        await off.client.createFunction(inlineFunction('probe', PROBE, { timeout: 30 }))
        const res = await off.client.invoke('probe', JSON.stringify({ etc: true }))
        const etc = JSON.parse(res.result) as { ifs: object; resolv: string }
        expect(Object.keys(etc.ifs)).toEqual(['lo'])
        expect(etc.resolv).toBe('')
      } finally {
        await off.close()
      }
    })

    test("a killed run's table and veths are replaced and removed at the next start, and so is a dead server's table of another data dir", async () => {
      const dataDir = tmpDir()
      const scope = sandboxScope(dataDir)
      const table = `strato_${scope}`
      const ours = (): string[] =>
        sh('ip', ['-o', 'link', 'show'])
          .split('\n')
          .filter((l) => l.includes(`sv${scope.slice(0, 5)}`))
      const first = await spawnStrato(dataDir)
      try {
        // The pre-started cells have their veths.
        await waitFor(() => Promise.resolve(ours().length > 0), 15_000)
        await first.stop('SIGKILL')
        // What a killed run could leave: its table (changed since), a veth of its scope.
        sh('nft', ['add', 'chain', 'inet', table, 'leftover_marker'])
        sh('ip', [
          'link',
          'add',
          `sv${scope.slice(0, 5)}zz`,
          'type',
          'veth',
          'peer',
          'name',
          `stxl${process.pid % 100000}`,
        ])
        // And a table of another data dir's server, killed long ago (its pid is no process now).
        const dead = `strato_${'0'.repeat(10)}${String(process.pid).padStart(6, '0').slice(-6)}`
        sh('nft', ['add', 'table', 'inet', dead, '{ comment "strato pid 4194303 start 1"; }'])
        const second = await spawnStrato(dataDir)
        try {
          expect(sh('nft', ['list', 'tables'])).not.toContain(dead)
          expect(sh('nft', ['list', 'table', 'inet', table])).not.toContain('leftover_marker')
          expect(sh('nft', ['list', 'table', 'inet', table])).toContain(
            `comment "strato pid ${second.child.pid} start`,
          )
          expect(ours().filter((l) => l.includes(`sv${scope.slice(0, 5)}zz`))).toEqual([])
        } finally {
          await second.stop()
        }
        expect(sh('nft', ['list', 'tables'])).not.toContain(table)
        expect(ours()).toEqual([])
      } finally {
        await first.stop('SIGKILL')
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
    })

    test('closing Strato removes its nftables table and every veth of its instances', async () => {
      const scope = sandboxScope(strato.dataDir)
      const table = `strato_${scope}`
      const veths = (): string[] =>
        sh('ip', ['-o', 'link', 'show'])
          .split('\n')
          .filter((l) => l.includes(`sv${scope.slice(0, 5)}`))
      expect(sh('nft', ['list', 'tables'])).toContain(table)
      expect(veths().length).toBeGreaterThan(0)
      closedByTest = true
      await strato.close()
      expect(sh('nft', ['list', 'tables'])).not.toContain(table)
      expect(veths()).toEqual([])
    })
  },
)
