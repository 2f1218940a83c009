/**
 * Cluster mode end to end (issue 19): three real nodes on this machine, one PostgreSQL database and
 * the machine's NATS. A function deployed through one node runs through the others; a code update
 * is seen everywhere within a second; 2,000 async events accepted across the nodes while one node
 * is SIGKILLed all end SUCCESS; a 2 s timer fires once per tick while its leader is killed; max
 * instances hold across the nodes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import { startCluster, type ClusterUnderTest } from '../helpers/cluster-nodes.js'
import { PROJECT_ID, clientFor, waitFor } from '../helpers/strato.js'

const urnOf = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

let cluster: ClusterUnderTest

beforeAll(async () => {
  cluster = await startCluster(3, {
    STRATO_ASYNC_POLL_MS: '10',
    STRATO_ASYNC_SYSTEM_RETRY_BASE_MS: '20',
    STRATO_ASYNC_SYSTEM_RETRY_MAX_MS: '200',
    STRATO_ASYNC_RETRY_BASE_MS: '20',
    STRATO_ASYNC_LEASE_GRACE_MS: '1000',
    STRATO_LOG_LEVEL: 'error',
  })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
}, 60_000)

const client = (i: number) => clientFor((cluster.nodes[i] as { url: string }).url)

describe('cluster of 3 nodes', () => {
  test('every node lists the members by node id and serves readiness', async () => {
    for (let i = 0; i < 3; i++) {
      const info = (await (await fetch(`${cluster.nodes[i]?.url}/strato/info`)).json()) as {
        cluster: { nodeId: string; mode: string; members: Array<{ nodeId: string }> }
      }
      expect(info.cluster.mode).toBe('cluster')
      expect(info.cluster.nodeId).toBe(cluster.nodeIds[i])
      expect(info.cluster.members.map((m) => m.nodeId).sort()).toEqual([...cluster.nodeIds])
    }
  })

  test('a function deployed through node 1 runs through nodes 2 and 3; an update through node 2 is seen by all within 1 s', async () => {
    const name = 'hello-cluster'
    await client(0).createFunction(inlineFunction(name, `exports.handler = async () => ({ v: 1 })`))
    for (const i of [1, 2]) {
      const res = await client(i).invoke(urnOf(name), '{}')
      expect(JSON.parse(res.result)).toEqual({ v: 1 })
    }
    const source = Buffer.from(`exports.handler = async () => ({ v: 2 })`).toString('base64')
    await client(1).updateCode(urnOf(name), {
      code_type: 'inline',
      func_code: { file: source },
    })
    const updatedAt = Date.now()
    // Each node is asked on its own, all at once: when it first answers with the new code.
    const seenAfter = await Promise.all(
      [0, 1, 2].map(async (i) => {
        await waitFor(
          async () => JSON.parse((await client(i).invoke(urnOf(name), '{}')).result).v === 2,
          5_000,
          20,
        )
        return Date.now() - updatedAt
      }),
    )
    // The last node answered the new code at most 1 s after the update's answer (cold start of
    // the new revision included).
    expect(Math.max(...seenAfter)).toBeLessThan(1_000)
    // eslint-disable-next-line no-console -- how long it took is worth seeing
    console.log(`code update seen by the 3 nodes after ${seenAfter.join(', ')} ms`)
  }, 30_000)

  test('max instances 2 holds across the 3 nodes', async () => {
    const name = 'capped'
    await client(0).createFunction(
      inlineFunction(
        name,
        `const id = require('crypto').randomUUID()
exports.handler = async () => { await new Promise((r) => setTimeout(r, 400)); return { id } }`,
        { strategy_config: { concurrency: 2 } },
      ),
    )
    const ids = new Set<string>()
    let throttled = 0
    await Promise.all(
      Array.from({ length: 24 }, async (_, k) => {
        try {
          const res = await client(k % 3).invoke(urnOf(name), '{}')
          ids.add((JSON.parse(res.result) as { id: string }).id)
        } catch (err) {
          if ((err as { status?: number }).status === 429) {
            throttled++
          } else {
            throw err
          }
        }
      }),
    )
    expect(ids.size).toBeGreaterThan(0)
    expect(ids.size).toBeLessThanOrEqual(2)
    // eslint-disable-next-line no-console -- how the cap played out is worth seeing
    console.log(`max instances 2: ${ids.size} instances served, ${throttled} of 24 throttled`)
  }, 60_000)

  test('a 2 s timer fires once per tick while its leader node is killed', async () => {
    const name = 'ticker'
    await client(0).createFunction(
      inlineFunction(
        name,
        `exports.handler = async (event) => { console.log('TICK ' + event.time); return 'ok' }`,
        {
          timeout: 3,
        },
      ),
    )
    await client(0).createTrigger(urnOf(name), {
      trigger_type_code: 'TIMER',
      trigger_status: 'ACTIVE',
      event_data: { name: 'every2s', schedule_type: 'Cron', schedule: '*/2 * * * * ?' },
    })
    const leaderOf = async (i: number): Promise<string | undefined> => {
      const info = (await (await fetch(`${cluster.nodes[i]?.url}/strato/info`)).json()) as {
        cluster: { leader?: { nodeId?: string } }
      }
      return info.cluster.leader?.nodeId
    }
    // Let it tick a few times, then kill whichever node leads.
    await new Promise((r) => setTimeout(r, 5_000))
    const leader = await leaderOf(0)
    const victim = cluster.nodeIds.indexOf(leader ?? '')
    expect(victim).toBeGreaterThanOrEqual(0)
    cluster.nodes[victim]?.child.kill('SIGKILL')
    const killedAt = Date.now()
    const survivor = victim === 0 ? 1 : 0
    await waitFor(
      async () => {
        const now = await leaderOf(survivor)
        return now !== undefined && now !== leader
      },
      20_000,
      200,
    )
    const failoverMs = Date.now() - killedAt
    await new Promise((r) => setTimeout(r, 8_000))

    const records = (await client(survivor).asyncInvocations(urnOf(name), { limit: 500 })) as {
      invocations: Array<{ request_id: string; status: string }>
    }
    const ticks = new Map<string, Set<string>>()
    for (const r of records.invocations) {
      const logs = (await client(survivor).logs(urnOf(name), { request_id: r.request_id })) as {
        logs: Array<{ log: string }>
      }
      for (const l of logs.logs) {
        const tick = /TICK (\S+)/.exec(l.log)?.[1]
        if (tick !== undefined) {
          ticks.set(tick, (ticks.get(tick) ?? new Set()).add(r.request_id))
        }
      }
    }
    // No tick became two events, whichever node fired it.
    const twice = [...ticks].filter(([, ids]) => ids.size > 1)
    expect(twice).toEqual([])
    // It kept ticking after the kill.
    const times = [...ticks.keys()].map((t) => Date.parse(t)).sort((a, b) => a - b)
    expect(times.filter((t) => t > killedAt + failoverMs).length).toBeGreaterThanOrEqual(2)
    // eslint-disable-next-line no-console -- the takeover time is worth seeing
    console.log(
      `timer: leader ${leader} killed, new leader after ${failoverMs} ms; ${times.length} ticks, none twice`,
    )
    await cluster.restart(victim)
  }, 90_000)

  test('2,000 async events accepted across the nodes while node 1 is SIGKILLed all end SUCCESS', async () => {
    const name = 'async-target'
    await client(1).createFunction(
      inlineFunction(
        name,
        `exports.handler = async (event, context) => {
  await new Promise((r) => setTimeout(r, Math.random() * 4))
  console.log('RAN ' + context.getRequestID())
  return 'ok'
}`,
        { timeout: 3, strategy_config: { concurrency: 8 } },
      ),
    )
    const EVENTS = 2_000
    const SENDERS = 24
    const accepted = new Set<string>()
    const killAt = EVENTS / 4 + Math.floor(Math.random() * (EVENTS / 2))
    let killed = false
    const send = async (i: number, node: number): Promise<boolean> => {
      try {
        const id = await client(node).invokeAsync(urnOf(name), JSON.stringify({ i }))
        accepted.add(id)
        if (!killed && accepted.size >= killAt) {
          killed = true
          cluster.nodes[0]?.child.kill('SIGKILL')
        }
        return true
      } catch {
        return false // refused or reset by the killed node: not accepted, sent again elsewhere
      }
    }
    let next = 0
    const retry: number[] = []
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        while (next < EVENTS) {
          const i = next++
          if (!(await send(i, (i + s) % 3))) {
            retry.push(i)
          }
        }
      }),
    )
    for (const i of retry) {
      expect(await send(i, 1 + (i % 2))).toBe(true)
    }
    expect(killed).toBe(true)
    expect(accepted.size).toBe(EVENTS)

    const records = new Map<string, { status: string; attempts: number }>()
    await waitFor(
      async () => {
        records.clear()
        for (let marker = 0; ; marker += 500) {
          const page = (await client(2).asyncInvocations(urnOf(name), { limit: 500, marker })) as {
            invocations: Array<{ request_id: string; status: string; attempts: number }>
          }
          for (const r of page.invocations) {
            records.set(r.request_id, r)
          }
          if (page.invocations.length < 500) {
            break
          }
        }
        return [...records.values()].every((r) => ['SUCCESS', 'FAIL', 'DISCARD'].includes(r.status))
      },
      90_000,
      500,
    )
    expect([...accepted].filter((id) => !records.has(id))).toEqual([])
    expect([...records].filter(([, r]) => r.status !== 'SUCCESS')).toEqual([])
    // Records whose 202 was lost in the kill (committed, answer not received) may exist beyond the
    // accepted ones; they ran and succeeded like the others.
    expect(records.size - EVENTS).toBeGreaterThanOrEqual(0)
    expect(records.size - EVENTS).toBeLessThanOrEqual(SENDERS)
    // Every success ran its handler and every attempt is in the shared logs, read from a node that
    // did not run them all; attempts the kill cut short were redelivered by the other nodes.
    // Logs are written in batches after the attempt (a lost attempt's entry by the node that
    // recovered it, while another node may already run the retry): an id that disagrees is read
    // again for a while before it counts.
    const disagreementOf = async (id: string): Promise<string | undefined> => {
      const res = (await client(2).logs(urnOf(name), { request_id: id })) as {
        logs: Array<{ attempt: number; status: string; log: string }>
      }
      const ran = res.logs.filter((l) => l.status === 'success' && l.log.includes(`RAN ${id}`))
      const attempts = records.get(id)?.attempts ?? 0
      const logged = res.logs.map((l) => l.attempt).sort((a, b) => a - b)
      const expected = Array.from({ length: attempts }, (_, i) => i + 1)
      return ran.length < 1 || JSON.stringify(logged) !== JSON.stringify(expected)
        ? `${id}: ${ran.length} successful runs logged, attempts ${JSON.stringify(logged)} logged of ${attempts}`
        : undefined
    }
    let pending = [...records.keys()]
    /** Ids whose logs agreed only when read again (their entries were still being written). */
    let reread = 0
    let disagreements: string[] = []
    let reruns = 0
    for (const id of pending) {
      reruns += Math.max(0, (records.get(id)?.attempts ?? 1) - 1)
    }
    for (let round = 0; round < 10 && pending.length > 0; round++) {
      if (round > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
      const queue = [...pending]
      const found = new Map<string, string>()
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
            const d = await disagreementOf(id)
            if (d !== undefined) {
              found.set(id, d)
            }
          }
        }),
      )
      pending = [...found.keys()]
      if (round === 0) {
        reread = pending.length
      }
      disagreements = [...found.values()]
    }
    expect(disagreements.slice(0, 10)).toEqual([])
    // eslint-disable-next-line no-console -- where the kill landed is worth seeing
    console.log(
      `cluster async crash: node 1 killed at the ${killAt}th acceptance; ${records.size} records, all SUCCESS, ${reruns} redelivered attempts, ${reread} ids whose logs agreed only when read again`,
    )
    await cluster.restart(0)
  }, 240_000)
})
