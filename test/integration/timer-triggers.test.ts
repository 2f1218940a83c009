/**
 * TIMER triggers through the official SDK: a cron every 2 s fires on its ticks with the §6.2 event
 * (the function logs each event; the logs API reads them back), stops when disabled, changes
 * schedule on update; Rate and Cron schedules are checked with the timer's FSS codes; and a
 * Strato killed (SIGKILL) and restarted fires no tick twice and catches up at most once.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, onTestFinished, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { tickRequestId } from '../../src/triggers/timer-source.js'
import { inlineFunction } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import {
  ACCESS_KEY,
  PROJECT_ID,
  REPO_ROOT,
  SECRET_KEY,
  clientFor,
  removeSandboxCgroups,
  spawnStrato,
  tmpDir,
  waitFor,
  type StratoProcess,
} from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

// Prints the event it got: the log is the one channel out of the sandbox.
const RECORDER = `exports.handler = async (event) => {
  console.log('EVENT ' + JSON.stringify(event))
  return 'ok'
}`

interface TimerEvent {
  readonly version: string
  readonly time: string
  readonly trigger_type: string
  readonly trigger_name: string
  readonly user_event: string
}

/** The events the function logged, one per request id, oldest tick first. */
async function loggedEvents(
  client: StratoClient,
  urn: string,
): Promise<Array<{ requestId: string; event: TimerEvent }>> {
  const { logs } = (await client.logs(urn, { limit: 500 })) as {
    logs: Array<{ request_id: string; log: string }>
  }
  const byRequest = new Map<string, TimerEvent>()
  for (const entry of logs) {
    const line = entry.log.split('\n').find((l) => l.includes('EVENT {'))
    if (line !== undefined) {
      byRequest.set(entry.request_id, JSON.parse(line.slice(line.indexOf('{'))) as TimerEvent)
    }
  }
  return [...byRequest]
    .map(([requestId, event]) => ({ requestId, event }))
    .sort((a, b) => Date.parse(a.event.time) - Date.parse(b.event.time))
}

function timerBody(name: string, scheduleType: string, schedule: string, userEvent?: string): any {
  const data = new fg.TriggerEventDataRequestBody()
    .withName(name)
    .withScheduleType(scheduleType)
    .withSchedule(schedule)
  return new fg.CreateFunctionTriggerRequestBody()
    .withTriggerTypeCode('TIMER')
    .withTriggerStatus('ACTIVE')
    .withEventData(userEvent === undefined ? data : data.withUserEvent(userEvent))
}

async function createTimer(
  sdk: any,
  urn: string,
  name: string,
  scheduleType: string,
  schedule: string,
  userEvent?: string,
): Promise<string> {
  const created = await sdk.createFunctionTrigger(
    new fg.CreateFunctionTriggerRequest()
      .withFunctionUrn(urn)
      .withBody(timerBody(name, scheduleType, schedule, userEvent)),
  )
  return String(created.trigger_id ?? created.triggerId)
}

const ASYNC_ENV = { STRATO_ASYNC_POLL_MS: '20' }

/** The CLI's stdout (`bin/strato.js`, built), run beside the in-process Strato. */
function cli(endpoint: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/strato.js'), ...args],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: endpoint,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
        },
      },
      (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr))),
    )
  })
}

describe('timer triggers', () => {
  const strato = useStrato(ASYNC_ENV)
  const { client } = strato

  test('a cron every 2 s fires 3 times in ~6 s with the §6.2 event; disabled, it stops at once', async () => {
    const sdk = sdkClient(strato.url)
    await client.createFunction(inlineFunction('timer-cron', RECORDER))
    const urn = String((await client.showConfig('timer-cron')).func_urn)
    const id = await createTimer(sdk, urn, 'every_2s', 'Cron', '*/2 * * * * ?', 'hello timer')
    const startedAt = Date.now()
    await waitFor(async () => (await loggedEvents(client, urn)).length >= 3, 15_000, 200)
    const elapsed = Date.now() - startedAt
    const events = await loggedEvents(client, urn)
    expect(elapsed).toBeLessThan(9_000)
    for (const { requestId, event } of events) {
      expect(event).toEqual({
        version: 'v1.0',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\+00:00$/),
        trigger_type: 'TIMER',
        trigger_name: 'every_2s',
        user_event: 'hello timer',
      })
      // Fired on the tick's second, under the tick's own request id.
      expect(requestId).toBe(tickRequestId(id, Date.parse(event.time)))
    }
    const ticks = events.map((e) => Date.parse(e.event.time))
    expect(ticks.slice(1).map((t, i) => t - (ticks[i] ?? 0))).toEqual(
      ticks.slice(1).map(() => 2_000),
    )

    const shown = await sdk.showFunctionTrigger(
      new fg.ShowFunctionTriggerRequest()
        .withFunctionUrn(urn)
        .withTriggerTypeCode('TIMER')
        .withTriggerId(id),
    )
    expect(shown.trigger_status ?? shown.triggerStatus).toBe('ACTIVE')
    const raw = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/triggers/${urn}/TIMER/${id}`)
    expect(JSON.parse(raw.body.toString())).toMatchObject({ health: 'ok' })

    await sdk.updateTrigger(
      new fg.UpdateTriggerRequest()
        .withFunctionUrn(urn)
        .withTriggerTypeCode('TIMER')
        .withTriggerId(id)
        .withBody(new fg.UpdateTriggerRequestBody().withTriggerStatus('DISABLED')),
    )
    // What was accepted before the disable may still be running: let it land, then count.
    await new Promise((r) => setTimeout(r, 1_000))
    const atDisable = (await loggedEvents(client, urn)).length
    await new Promise((r) => setTimeout(r, 4_500))
    expect((await loggedEvents(client, urn)).length).toBe(atDisable)

    const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
      triggers: { by_type: Record<string, { ACTIVE: number; DISABLED: number }>; failing: [] }
    }
    expect(info.triggers.by_type.TIMER).toEqual({ ACTIVE: 0, DISABLED: 1 })
    expect(info.triggers.failing).toEqual([])

    // The CLI shows the same: status, health and schedule.
    const listed = await cli(strato.url, ['triggers', 'list', 'timer-cron'])
    expect(listed).toMatch(new RegExp(`${id}\\s+TIMER\\s+DISABLED\\s+ok\\s+Cron \\*/2`))
    const shown2 = await cli(strato.url, ['triggers', 'show', 'timer-cron', id, '--type', 'TIMER'])
    expect(shown2).toContain('health      ok')
    expect(shown2).toContain('"user_event":"hello timer"')
  })

  test('schedules are checked: Rate ranges and units, Cron fields; a name is taken once (timer codes)', async () => {
    const sdk = sdkClient(strato.url)
    await client.createFunction(inlineFunction('timer-checks', RECORDER))
    const urn = String((await client.showConfig('timer-checks')).func_urn)
    for (const [type, schedule] of [
      ['Rate', '61m'],
      ['Rate', '25h'],
      ['Rate', '31d'],
      ['Rate', '0m'],
      ['Rate', '10s'],
      ['Rate', '3 minutes'],
      ['Cron', '0 0 25 * * ?'],
      ['Cron', '* * *'],
      ['Cron', 'CRON_TZ=Nowhere/City 0 0 8 * * ?'],
      ['Weekly', '1d'],
    ] as const) {
      const err = await sdkError(createTimer(sdk, urn, 'bad_one', type, schedule))
      expect([schedule, err.httpStatusCode, err.errorCode]).toEqual([schedule, 400, 'FSS.1109'])
    }
    for (const [i, schedule] of ['1m', '60m', '24h', '30d'].entries()) {
      await createTimer(sdk, urn, `rate_${i}`, 'Rate', schedule)
    }
    await createTimer(sdk, urn, 'berlin', 'Cron', 'CRON_TZ=Europe/Berlin 0 30 12 ? * MON-FRI')
    await createTimer(sdk, urn, 'every', 'Cron', '@every 90s')
    const taken = await sdkError(createTimer(sdk, urn, 'rate_0', 'Rate', '5m'))
    expect([taken.httpStatusCode, taken.errorCode]).toEqual([409, 'FSS.1148'])
    const missing = await sdkError(
      sdk.showFunctionTrigger(
        new fg.ShowFunctionTriggerRequest()
          .withFunctionUrn(urn)
          .withTriggerTypeCode('TIMER')
          .withTriggerId('0'.repeat(32)),
      ),
    )
    expect([missing.httpStatusCode, missing.errorCode]).toEqual([404, 'FSS.1140'])
    const listed = (await sdk.listFunctionTriggers(
      new fg.ListFunctionTriggersRequest().withFunctionUrn(urn),
    )) as { result?: unknown[] } & unknown[]
    expect(listed.result ?? listed).toHaveLength(6)
  })

  test("an update changes a timer's schedule and user_event (checked as at create); the name stays", async () => {
    await client.createFunction(inlineFunction('timer-update', RECORDER))
    const urn = String((await client.showConfig('timer-update')).func_urn)
    const id = await createTimer(sdkClient(strato.url), urn, 'slow', 'Rate', '60m')
    const path = `/v2/${PROJECT_ID}/fgs/triggers/${urn}/TIMER/${id}`
    const bad = await client.raw(
      'PUT',
      path,
      JSON.stringify({ trigger_status: 'ACTIVE', event_data: { schedule: '99m' } }),
    )
    expect([bad.status, JSON.parse(bad.body.toString()).error_code]).toEqual([400, 'FSS.1109'])
    const renamed = await client.raw(
      'PUT',
      path,
      JSON.stringify({ trigger_status: 'ACTIVE', event_data: { name: 'other' } }),
    )
    expect(renamed.status).toBe(400)
    const updated = await client.raw(
      'PUT',
      path,
      JSON.stringify({
        trigger_status: 'ACTIVE',
        event_data: { schedule_type: 'Cron', schedule: '* * * * * ?', user_event: 'fast now' },
      }),
    )
    expect(updated.status).toBe(200)
    expect(JSON.parse(updated.body.toString())).toMatchObject({
      trigger_status: 'ACTIVE',
      health: 'ok',
      event_data: { name: 'slow', schedule_type: 'Cron', schedule: '* * * * * ?' },
    })
    await waitFor(async () => (await loggedEvents(client, urn)).length >= 2, 10_000, 200)
    const [first] = await loggedEvents(client, urn)
    expect(first?.event.user_event).toBe('fast now')
    // Deleting the function removes its timers: nothing fires for it any more.
    await client.deleteFunction(urn)
    const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
      triggers: { by_type: Record<string, unknown> }
    }
    expect(JSON.stringify(info.triggers.by_type)).not.toContain('"ACTIVE":1,"DISABLED":0}')
  })
})

test('timer restart: Strato killed (SIGKILL) and restarted doubles no tick; after downtime one catch-up, then every tick', async () => {
  const dataDir = tmpDir('strato-timer-restart-')
  let strato: StratoProcess = await spawnStrato(dataDir, ASYNC_ENV)
  onTestFinished(async () => {
    await strato.stop('SIGKILL')
    await removeSandboxCgroups(dataDir)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  await clientFor(strato.url).createFunction(inlineFunction('timer-restart', RECORDER))
  const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:timer-restart:latest`
  const id = await createTimer(sdkClient(strato.url), urn, 'every_2s', 'Cron', '*/2 * * * * ?')
  await waitFor(
    async () => (await loggedEvents(clientFor(strato.url), urn)).length >= 2,
    15_000,
    100,
  )
  // Killed just after a tick's event ran: its cursor may or may not be saved.
  await strato.stop('SIGKILL')
  const killedAt = Date.now()
  // Down long enough to miss at least two ticks.
  await new Promise((r) => setTimeout(r, 4_500))
  strato = await spawnStrato(dataDir, { ...ASYNC_ENV, STRATO_LOG_LEVEL: 'info' })
  const client = clientFor(strato.url)
  // Logged once the trigger sources have started (pino: time in ms).
  await waitFor(() => strato.output().includes('API gateway is listening'), 10_000)
  const sourcesStarted = strato
    .output()
    .split('\n')
    .filter((l) => l.includes('API gateway is listening'))
    .map((l) => (JSON.parse(l) as { time: number }).time)[0]
  await waitFor(
    async () =>
      (await loggedEvents(client, urn)).filter((e) => Date.parse(e.event.time) > killedAt).length >=
      3,
    20_000,
    200,
  )
  const events = await loggedEvents(client, urn)
  const ticks = events.map((e) => Date.parse(e.event.time))
  // Never doubled: one request id per tick, the tick's own.
  expect(new Set(ticks).size).toBe(ticks.length)
  for (const { requestId, event } of events) {
    expect(requestId).toBe(tickRequestId(id, Date.parse(event.time)))
  }
  // Before the kill and after the catch-up, every tick; between them one gap (the skipped ticks).
  const gaps = ticks.slice(1).map((t, i) => t - (ticks[i] ?? 0))
  const skips = gaps.filter((g) => g !== 2_000)
  expect(skips).toHaveLength(1)
  expect(skips[0]).toBeGreaterThanOrEqual(4_000)
  // The first tick after the kill is the catch-up: the latest tick already due when the sources
  // started, not the first one after (a clock margin for the log line written just after).
  const firstAfterKill = ticks.find((t) => t > killedAt) ?? Infinity
  expect(firstAfterKill).toBeLessThanOrEqual((sourcesStarted ?? 0) + 100)
})
