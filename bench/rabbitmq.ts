/**
 * RABBITMQ triggers: messages per second through a trigger to a no-op function, against the
 * RabbitMQ server on 127.0.0.1:5672 (guest/guest). For each shape a backlog is published while the
 * trigger is disabled, then the trigger is enabled and the backlog's fall is timed: the broker hands
 * out a message only when an earlier one was acked (the prefetch is full), so the rate at which the
 * queue empties is the rate of acked messages, after the function succeeded.
 * Run with `node --import tsx bench/rabbitmq.ts` after `npm run build`.
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'amqplib'
import { ChildProcesses } from './lib/child-processes.js'
import { compactTable } from './lib/report.js'
import { RESULTS_DIR, envInt } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi } from './lib/signed-request.js'
import { startBenchStrato } from './lib/strato-server.js'

const AMQP_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const MESSAGES = envInt('BENCH_RABBITMQ_MESSAGES', 20_000, 2_000)
/** Batch size, max instances and concurrent_num of each run. */
const SHAPES: ReadonlyArray<{ batch: number; max: number; concurrentNum: number }> = [
  { batch: 1, max: 4, concurrentNum: 1 },
  { batch: 10, max: 4, concurrentNum: 1 },
  { batch: 100, max: 4, concurrentNum: 1 },
  { batch: 100, max: 1, concurrentNum: 10 },
]
const NOOP = `exports.handler = async () => 'ok'`
const SAMPLE_MS = 100

const reportProblem = (problem: string): void => console.error(`bench/rabbitmq: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/rabbitmq')

interface Row {
  readonly batch: number
  readonly max: number
  readonly concurrentNum: number
  readonly messages: number
  readonly seconds: number
  readonly msgPerSec: number
}

async function broker() {
  const conn = await connect(AMQP_URL)
  conn.on('error', () => undefined)
  const ch = await conn.createConfirmChannel()
  return { conn, ch }
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const { conn, ch } = await broker()
  const exchange = `strato-bench-${randomUUID()}`
  await ch.assertExchange(exchange, 'topic', { durable: false })
  const strato = await startBenchStrato(processes, reportProblem, {
    dataDirPrefix: 'strato-bench-rabbitmq-',
    env: { STRATO_LOG_LEVEL: 'warn' },
  })
  const rows: Row[] = []
  const queues: string[] = []
  try {
    for (const shape of SHAPES) {
      const name = `mq-${shape.batch}-${shape.max}-${shape.concurrentNum}`
      const created = (await callApi(strato.url, 'POST', `/v2/${BENCH_PROJECT_ID}/fgs/functions`, {
        func_name: name,
        package: 'default',
        runtime: 'Node.js18.15',
        handler: 'index.handler',
        memory_size: 256,
        timeout: 30,
        code_type: 'inline',
        func_code: { file: Buffer.from(NOOP).toString('base64') },
        strategy_config: { concurrency: shape.max, concurrent_num: shape.concurrentNum },
      })) as { func_urn: string }
      const triggers = `/v2/${BENCH_PROJECT_ID}/fgs/triggers/${created.func_urn}`
      const trigger = (await callApi(strato.url, 'POST', triggers, {
        trigger_type_code: 'RABBITMQ',
        trigger_status: 'ACTIVE',
        event_data: {
          connect_address: new URL(AMQP_URL).host,
          exchange_name: exchange,
          access_user: decodeURIComponent(new URL(AMQP_URL).username),
          access_password: decodeURIComponent(new URL(AMQP_URL).password),
          batch_size: shape.batch,
          routing_key: name,
        },
      })) as { trigger_id: string }
      const queue = `strato.trigger.${trigger.trigger_id}`
      queues.push(queue)
      const depth = async (): Promise<number> => (await ch.checkQueue(queue)).messageCount
      // The trigger declares its queue once it consumes; then it is paused for the backlog. A
      // check of a missing queue closes its channel: each try has its own.
      for (let i = 0; ; i++) {
        const probe = await conn.createChannel()
        probe.on('error', () => undefined)
        try {
          await probe.checkQueue(queue)
          await probe.close()
          break
        } catch {
          if (i > 100) {
            throw new Error(`the trigger's queue ${queue} never appeared`)
          }
          await sleep(100)
        }
      }
      const item = `${triggers}/RABBITMQ/${trigger.trigger_id}`
      await callApi(strato.url, 'PUT', item, { trigger_status: 'DISABLED' })
      const body = Buffer.from(JSON.stringify({ order: 1, item: 'bench' }))
      for (let i = 0; i < MESSAGES; i++) {
        ch.publish(exchange, name, body)
        if (i % 1000 === 999) {
          await ch.waitForConfirms()
        }
      }
      await ch.waitForConfirms()
      while ((await depth()) < MESSAGES) {
        await sleep(20)
      }
      // The first batches start instances: timed from the first message that left the queue.
      await callApi(strato.url, 'PUT', item, { trigger_status: 'ACTIVE' })
      let first: { at: number; depth: number } | undefined
      let last: { at: number; depth: number } = { at: performance.now(), depth: MESSAGES }
      const deadline = Date.now() + 10 * 60_000
      for (;;) {
        const d = await depth()
        const at = performance.now()
        if (first === undefined && d < MESSAGES) {
          first = { at, depth: d }
        }
        if (d === 0) {
          break
        }
        last = { at, depth: d }
        if (Date.now() > deadline) {
          throw new Error(`${name}: ${d} messages still queued`)
        }
        await sleep(SAMPLE_MS)
      }
      const start = first ?? last
      const seconds = (last.at - start.at) / 1000
      const moved = start.depth - last.depth
      const row = {
        ...shape,
        messages: MESSAGES,
        seconds,
        msgPerSec: seconds > 0 ? moved / seconds : 0,
      }
      rows.push(row)
      console.log(
        `batch ${shape.batch}, max ${shape.max} inst. × concurrent_num ${shape.concurrentNum}: ${Math.round(row.msgPerSec)} msg/s`,
      )
      await callApi(strato.url, 'DELETE', item, {})
    }
    console.log(
      [
        '',
        ...compactTable(
          ['batch_size', 'max inst.', 'concurrent_num', 'messages', 'msg/s'],
          rows.map((r) => [
            String(r.batch),
            String(r.max),
            String(r.concurrentNum),
            String(r.messages),
            String(Math.round(r.msgPerSec)),
          ]),
        ),
      ].join('\n'),
    )
    fs.writeFileSync(
      path.join(RESULTS_DIR, 'rabbitmq.json'),
      `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows }, null, 2)}\n`,
    )
  } finally {
    // Deleting a trigger deletes its queue; these are what a failed run left.
    for (const queue of queues) {
      await ch.deleteQueue(queue).catch(() => undefined)
    }
    await ch.deleteExchange(exchange).catch(() => undefined)
    await conn.close().catch(() => undefined)
    await processes.cleanup()
  }
}

main().catch((err: unknown) => {
  console.error('bench/rabbitmq: failed:', err)
  process.exitCode = 1
})
