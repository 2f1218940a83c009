/**
 * Crash test of the async path: 2,000 async invocations, Strato SIGKILLed at a random moment while
 * it accepts and drains them, restarted on the same data dir. Every accepted request id must reach
 * a terminal state (SUCCESS here), none may be lost, each handler must have run at least once, and
 * the records must agree with what the handlers reported. And a graceful stop (SIGTERM) never
 * counts against an event's retry budget.
 */
import fs from 'node:fs'
import { onTestFinished, expect, test } from 'vitest'
import {
  PROJECT_ID,
  clientFor,
  removeSandboxCgroups,
  spawnStrato,
  startTestStrato,
  tmpDir,
  waitFor,
  type StratoProcess,
} from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

const EVENTS = 2_000
const SENDERS = 32

// The handler reports its request id to the test's callback server, and returns only once the
// report was received: a SUCCESS record therefore implies a report.
// The handler says which request it ran on its output, the one channel out of a sandbox (instances
// may have no network and a read-only file system). Strato commits an attempt's log no later than
// the attempt's settlement, so a SUCCESS record implies a stored line.
const HANDLER = `exports.handler = async (event, context) => {
  await new Promise((r) => setTimeout(r, Math.random() * 4))
  console.log('RAN ' + context.getRequestID())
  return 'ok'
}`

const ASYNC_ENV = {
  STRATO_ASYNC_POLL_MS: '10',
  STRATO_ASYNC_SYSTEM_RETRY_BASE_MS: '20',
  STRATO_ASYNC_SYSTEM_RETRY_MAX_MS: '200',
  STRATO_ASYNC_RETRY_BASE_MS: '20',
  STRATO_LOG_LEVEL: 'error',
}

test('async crash: SIGKILL mid-flight loses no accepted event; every one runs and ends SUCCESS', async () => {
  const dataDir = tmpDir('strato-async-crash-')
  let strato: StratoProcess = await spawnStrato(dataDir, ASYNC_ENV)
  onTestFinished(async () => {
    await strato.stop('SIGKILL')
    await removeSandboxCgroups(dataDir)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const name = 'crash-target'
  const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
  await clientFor(strato.url).createFunction(
    inlineFunction(name, HANDLER, { strategy_config: { concurrency: 8 } }),
  )

  // 2. Send the events from a few senders; SIGKILL at a random moment while they go out and drain.
  const accepted = new Set<string>()
  const send = async (client: ReturnType<typeof clientFor>, i: number): Promise<boolean> => {
    try {
      const res = await client.raw(
        'POST',
        `/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations-async`,
        JSON.stringify({ i }),
      )
      if (res.status !== 202) {
        return false
      }
      accepted.add((JSON.parse(res.body.toString()) as { request_id: string }).request_id)
      if (accepted.size >= killAtAccepted) {
        void killer()
      }
      return true
    } catch {
      return false // connection refused or reset: Strato is down; this one was not accepted
    }
  }
  const sendAll = async (indexes: number[], client: ReturnType<typeof clientFor>) => {
    const failed: number[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < indexes.length) {
          const i = indexes[next++] as number
          if (!(await send(client, i))) {
            failed.push(i)
          }
        }
      }),
    )
    return failed
  }
  // The kill lands once a random number of events (half to all) were accepted, after a random
  // further delay: while events are still arriving, or while the backlog drains.
  const killAtAccepted = EVENTS / 2 + Math.floor(Math.random() * (EVENTS / 2))
  const killDelayMs = Math.floor(Math.random() * 300)
  let killed: Promise<void> | undefined
  const killer = (): Promise<void> =>
    (killed ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        strato.child.kill('SIGKILL')
        resolve()
      }, killDelayMs),
    ))
  const firstFailed = await sendAll(
    Array.from({ length: EVENTS }, (_, i) => i),
    clientFor(strato.url),
  )
  await killer()
  await new Promise<void>((resolve) =>
    strato.child.exitCode !== null || strato.child.signalCode !== null
      ? resolve()
      : strato.child.once('exit', () => resolve()),
  )
  const acceptedBeforeKill = accepted.size

  // 3. Restart on the same data dir; what was refused during the crash is sent again.
  strato = await spawnStrato(dataDir, ASYNC_ENV)
  const client = clientFor(strato.url)
  expect(await sendAll(firstFailed, client)).toEqual([])
  expect(accepted.size).toBe(EVENTS)

  // 4. Every record reaches a terminal state.
  const records = new Map<string, { status: string; attempts: number }>()
  await waitFor(
    async () => {
      records.clear()
      for (let marker = 0; ; marker += 500) {
        const res = await client.raw(
          'GET',
          `/v2/${PROJECT_ID}/fgs/functions/${urn}/async-invocations?limit=500&marker=${marker}`,
        )
        const page = JSON.parse(res.body.toString()) as {
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
    50_000,
    200,
  )

  // 5. None lost, all ran, and the records agree with what the handlers said.
  const missing = [...accepted].filter((id) => !records.has(id))
  expect(missing).toEqual([])
  const notSuccess = [...records].filter(([, r]) => r.status !== 'SUCCESS')
  expect(notSuccess).toEqual([])
  // Records whose 202 was lost in the crash (committed, answer not received) may exist beyond the
  // accepted ones; they must run and succeed like the others.
  expect(records.size).toBeGreaterThanOrEqual(EVENTS)
  expect(records.size - EVENTS).toBeLessThanOrEqual(SENDERS)
  // Every attempt is in the logs, those the crash cut short too (as PlatformRestart).
  const disagreements: string[] = []
  let reruns = 0
  let cutShort = 0
  const ids = [...records.keys()]
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
        const res = (await client.logs(urn, { request_id: id })) as {
          logs: Array<{ attempt: number; status: string; error_type: string; log: string }>
        }
        const ran = res.logs.filter((l) => l.status === 'success' && l.log.includes(`RAN ${id}`))
        const attempts = records.get(id)?.attempts ?? 0
        const logged = res.logs.map((l) => l.attempt).sort((a, b) => a - b)
        const expected = Array.from({ length: attempts }, (_, i) => i + 1)
        if (ran.length < 1 || JSON.stringify(logged) !== JSON.stringify(expected)) {
          disagreements.push(
            `${id}: ${ran.length} successful runs logged, attempts ${JSON.stringify(logged)} logged of ${attempts}`,
          )
        }
        const restarts = res.logs.filter((l) => l.error_type === 'PlatformRestart')
        for (const l of restarts) {
          if (!l.log.includes('interrupted: Strato stopped or crashed')) {
            disagreements.push(`${id}: attempt ${l.attempt} logged as ${l.log}`)
          }
        }
        cutShort += restarts.length
        reruns += res.logs.length - 1
      }
    }),
  )
  expect(disagreements).toEqual([])
  // eslint-disable-next-line no-console -- where the kill landed is worth seeing in the run
  console.log(
    `async crash: killed ${killDelayMs} ms after the ${killAtAccepted}th acceptance, with ${acceptedBeforeKill} accepted; ` +
      `${records.size} records, all SUCCESS, each with its handler's log; ${reruns} re-runs (at-least-once), ` +
      `${cutShort} attempts logged as cut short by the crash`,
  )
}, 120_000)

test('async shutdown: attempts cut short by SIGTERM are retried after the restart, not counted as function errors', async () => {
  const dataDir = tmpDir('strato-async-stop-')
  const env = { ...ASYNC_ENV, STRATO_SHUTDOWN_GRACE_MS: '200' }
  let strato: StratoProcess = await spawnStrato(dataDir, env)
  onTestFinished(async () => {
    await strato.stop('SIGKILL')
    await removeSandboxCgroups(dataDir)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const name = 'stop-target'
  const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
  let client = clientFor(strato.url)
  await client.createFunction(
    inlineFunction(
      name,
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 1 }',
    ),
  )
  // No retries: if a shutdown counted as a function error, these events would end FAIL.
  const cfg = await client.raw(
    'PUT',
    `/v2/${PROJECT_ID}/fgs/functions/${urn}/async-invoke-config`,
    JSON.stringify({ max_async_event_age_in_seconds: 600, max_async_retry_attempts: 0 }),
  )
  expect(cfg.status).toBe(200)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations-async`,
      JSON.stringify({ i }),
    )
    ids.push((JSON.parse(res.body.toString()) as { request_id: string }).request_id)
  }
  const records = async (): Promise<Array<{ status: string; attempts: number }>> => {
    const res = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/functions/${urn}/async-invocations`)
    return (
      JSON.parse(res.body.toString()) as {
        invocations: Array<{ status: string; attempts: number }>
      }
    ).invocations
  }
  await waitFor(
    async () => (await records()).filter((r) => r.status === 'RUNNING').length === 3,
    10_000,
  )
  await strato.stop('SIGTERM')
  expect(strato.child.exitCode).toBe(0)

  strato = await spawnStrato(dataDir, env)
  client = clientFor(strato.url)
  await waitFor(async () => (await records()).every((r) => r.status === 'SUCCESS'), 20_000).catch(
    async (err: unknown) => {
      throw new Error(
        `${String(err)}: records ${JSON.stringify(await records())}; Strato said: ${strato.output()}`,
      )
    },
  )
  expect((await records()).map((r) => [r.status, r.attempts])).toEqual([
    ['SUCCESS', 2],
    ['SUCCESS', 2],
    ['SUCCESS', 2],
  ])
  // The attempts the stop cut short are in the logs too.
  for (const id of ids) {
    const res = (await client.logs(urn, { request_id: id })) as {
      logs: Array<{ attempt: number; status: string }>
    }
    expect(res.logs.map((l) => [l.attempt, l.status])).toEqual([
      [2, 'success'],
      [1, 'error'],
    ])
  }
})

test('async restart: an attempt a crashed run left leased is logged as PlatformRestart and run again', async () => {
  const dataDir = tmpDir('strato-async-lost-')
  let strato = await startTestStrato({ STRATO_ASYNC_POLL_MS: '20' }, dataDir)
  onTestFinished(async () => {
    await strato.close()
    await removeSandboxCgroups(dataDir)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const name = 'lost-attempt'
  const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
  await strato.client.createFunction(
    inlineFunction(name, 'exports.handler = async (event, context) => context.getRequestID()'),
  )
  // The run "crashes" holding a lease: its dispatcher takes nothing, the queue lends the event
  // out as a worker would, and nothing settles it before the store closes.
  strato.running.dispatcher.stop()
  const id = await strato.client.invokeAsync(urn, '{}')
  const leased = await strato.running.store.asyncQueue.lease({
    max: 10,
    nowMs: Date.now(),
    room: () => 10,
  })
  expect(leased.map((l) => [l.requestId, l.attempt])).toEqual([[id, 1]])
  await strato.close()

  strato = await startTestStrato({ STRATO_ASYNC_POLL_MS: '20' }, dataDir)
  const client = strato.client
  await waitFor(async () => {
    const page = (await client.asyncInvocations(urn, { request_id: id })) as {
      invocations: Array<{ status: string }>
    }
    return page.invocations[0]?.status === 'SUCCESS'
  }, 10_000)
  const res = (await client.logs(urn, { request_id: id })) as {
    logs: Array<{ attempt: number; status: string; error_type: string; log: string }>
  }
  expect(res.logs.map((l) => [l.attempt, l.status, l.error_type])).toEqual([
    [2, 'success', ''],
    [1, 'error', 'PlatformRestart'],
  ])
  expect(res.logs[1]?.log).toContain(
    `ERROR PlatformRestart: The attempt was interrupted: Strato stopped or crashed while it ran.`,
  )
})
