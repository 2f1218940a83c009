import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { afterEach, describe, expect, test } from 'vitest'
import { Limits, type InvocationRecord } from '../core/index.js'
import { openStore, type Store } from './index.js'
import { InvocationLogStore } from './invocation-log-store.js'

const dirs: string[] = []
const stores: Store[] = []

afterEach(async () => {
  for (const s of stores.splice(0)) {
    await s.close()
  }
  for (const d of dirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true })
  }
})

function newDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-logs-'))
  dirs.push(dir)
  return dir
}

async function open(dir: string, errors: unknown[] = []): Promise<Store> {
  const store = await openStore({
    dataDir: dir,
    quotas: Limits.DEFAULT_QUOTAS,
    onBackgroundError: (err) => errors.push(err),
  })
  stores.push(store)
  return store
}

async function close(store: Store): Promise<void> {
  stores.splice(stores.indexOf(store), 1)
  await store.close()
}

function record(i: number, startedAtMs = 1_700_000_000_000 + i): InvocationRecord {
  return {
    requestId: `req-${String(i).padStart(6, '0')}`,
    attempt: 1,
    version: 'latest',
    startedAtMs,
    durationMs: 1.5,
    billedDurationMs: 2,
    memorySizeMb: 128,
    memoryUsedMb: 30.25,
    errorType: i % 2 === 0 ? undefined : 'Error',
    errorMessage: i % 2 === 0 ? undefined : `failure ${i}`,
    output: `line ${i}\n`,
  }
}

/** Rows as another connection sees them: what is committed to logs.db, nothing in memory. */
function committedRows(dir: string): number {
  const db = new SQLite(path.join(dir, 'logs.db'), { readonly: true })
  try {
    return (db.prepare('select count(*) as n from invocation_logs').get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('InvocationLogStore', () => {
  test('flush returns only once every appended log is committed to logs.db by the writer thread', async () => {
    const dir = newDir()
    const errors: unknown[] = []
    const store = await open(dir, errors)
    for (let i = 0; i < 1234; i++) {
      store.logs.append(record(i), 'p1', i < 1000 ? 'fn-a' : 'fn-b')
    }
    store.logs.flush()
    expect(committedRows(dir)).toBe(1234)
    // Nothing new since: a second flush has nothing to wait for.
    store.logs.flush()
    expect(errors).toEqual([])
  })

  test('a log is listed right after it is appended, newest first, with every field as recorded', async () => {
    const dir = newDir()
    const store = await open(dir)
    store.logs.append(record(1), 'p1', 'fn-a')
    store.logs.append(record(2), 'p1', 'fn-a')
    store.logs.append(record(3), 'p1', 'fn-b')
    const listed = await store.logs.list({ functionId: 'fn-a', limit: 10 })
    expect(listed.map((l) => l.requestId)).toEqual(['req-000002', 'req-000001'])
    expect(listed[1]).toEqual({ ...record(1), projectId: 'p1', functionId: 'fn-a' })
    const one = await store.logs.list({ functionId: 'fn-b', requestId: 'req-000003', limit: 10 })
    expect(one).toHaveLength(1)
    expect(one[0]?.errorMessage).toBe('failure 3')
  })

  test('logs survive a restart, and prune deletes by function and by age', async () => {
    const dir = newDir()
    let store = await open(dir)
    store.logs.append(record(1, 1_000), 'p1', 'fn-a')
    store.logs.append(record(2, 5_000), 'p1', 'fn-a')
    store.logs.append(record(3, 5_000), 'p1', 'fn-b')
    await close(store)
    store = await open(dir)
    expect(await store.logs.list({ functionId: 'fn-a', limit: 10 })).toHaveLength(2)
    await store.logs.prune({ before: new Date(2_000) })
    expect(
      (await store.logs.list({ functionId: 'fn-a', limit: 10 })).map((l) => l.requestId),
    ).toEqual(['req-000002'])
    await store.logs.prune({ functionId: 'fn-b' })
    expect(await store.logs.list({ functionId: 'fn-b', limit: 10 })).toEqual([])
    expect(committedRows(dir)).toBe(1)
  })

  test('a data dir from before logs.db keeps its logs: they move out of strato.db once', async () => {
    const dir = newDir()
    await close(await open(dir))
    // Such a data dir: every migration applied, the logs still in strato.db, no logs.db.
    for (const f of ['logs.db', 'logs.db-wal', 'logs.db-shm']) {
      fs.rmSync(path.join(dir, f), { force: true })
    }
    const main = new SQLite(path.join(dir, 'strato.db'))
    main.exec(`create table invocation_logs (
      request_id text not null, attempt integer not null, project_id text not null,
      function_id text not null, version text not null, started_at integer not null,
      duration_ms real not null, billed_ms integer not null, memory_size_mb integer not null,
      memory_used_mb real not null, error_type text, error_message text, output text not null,
      constraint invocation_logs_pk primary key (request_id, attempt))`)
    main
      .prepare(
        `insert into invocation_logs values ('old-1', 1, 'p1', 'fn-a', 'latest', 42, 3, 3, 128, 20, null, null, 'from before')`,
      )
      .run()
    main.close()

    const store = await open(dir)
    const listed = await store.logs.list({ functionId: 'fn-a', limit: 10 })
    expect(listed.map((l) => [l.requestId, l.output])).toEqual([['old-1', 'from before']])
    await close(store)
    const after = new SQLite(path.join(dir, 'strato.db'), { readonly: true })
    const table = after
      .prepare("select name from sqlite_master where type = 'table' and name = 'invocation_logs'")
      .get()
    after.close()
    expect(table).toBeUndefined()
  })
})

describe('InvocationLogStore search on a logs.db from before the levels column', () => {
  test('existing rows get their levels once, and level searches find them', async () => {
    const dir = newDir()
    await close(await open(dir))
    // Such a file: the invocation_logs table as ADR 0008 made it, without `levels`.
    for (const f of ['logs.db', 'logs.db-wal', 'logs.db-shm']) {
      fs.rmSync(path.join(dir, f), { force: true })
    }
    const old = new SQLite(path.join(dir, 'logs.db'))
    old.exec(`create table invocation_logs (
      request_id text not null, attempt integer not null, project_id text not null,
      function_id text not null, version text not null, started_at integer not null,
      duration_ms real not null, billed_ms integer not null, memory_size_mb integer not null,
      memory_used_mb real not null, error_type text, error_message text, output text not null,
      constraint invocation_logs_pk primary key (request_id, attempt))`)
    const insert = old.prepare(
      `insert into invocation_logs values (?, 1, 'p1', 'fn-a', 'latest', ?, 3, 3, 128, 20, ?, null, ?)`,
    )
    insert.run('old-warn', 1, null, 't r WARN careful\n')
    insert.run('old-info', 2, null, 't r INFO fine\n')
    insert.run('old-failed', 3, 'Error', 'plain\n')
    old.close()

    const store = await open(dir)
    const warned = await store.logs.search({
      functionId: 'fn-a',
      minLevel: 'WARN',
      order: 'desc',
      limit: 10,
    })
    expect(warned.entries.map((e) => e.entry.requestId)).toEqual(['old-failed', 'old-warn'])
    // New rows get theirs from the writer, beside the old ones.
    store.logs.append({ ...record(2), output: 't r ERROR new\n' }, 'p1', 'fn-a')
    const errors = await store.logs.search({
      functionId: 'fn-a',
      minLevel: 'ERROR',
      order: 'asc',
      limit: 10,
    })
    expect(errors.entries.map((e) => e.entry.requestId)).toEqual([
      'old-failed',
      record(2).requestId,
    ])
  })
})

describe('InvocationLogStore with a writer thread that dies', () => {
  test('a dead writer is replaced, nobody waits on it, and after repeated deaths logs are given up on', async () => {
    const dir = newDir()
    // A writer that ends at the first batch it gets, before writing it.
    const script = path.join(dir, 'dying-writer.cjs')
    fs.writeFileSync(
      script,
      "require('node:worker_threads').parentPort.on('message', (m) => { if (m.rows) process.exit(3) })\n",
    )
    const main = new SQLite(path.join(dir, 'strato.db'))
    const errors: string[] = []
    const logs = new InvocationLogStore(
      dir,
      main,
      (err) => errors.push(String(err)),
      new URL(`file://${script}`),
    )
    try {
      for (let death = 1; death <= 4; death++) {
        logs.append(record(death), 'p1', 'fn-a')
        const t0 = Date.now()
        // The batch goes to the writer, which dies with it: the wait ends with the death.
        await logs.list({ functionId: 'fn-a', limit: 10 })
        expect(Date.now() - t0).toBeLessThan(5_000)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(errors.filter((e) => e.includes('starting another'))).toHaveLength(3)
      expect(errors.at(-1)).toContain('invocation logs are no longer written')
      // Given up: appends are dropped and a flush has nothing to wait for.
      logs.append(record(9), 'p1', 'fn-a')
      const t0 = Date.now()
      logs.flush()
      expect(Date.now() - t0).toBeLessThan(100)
      expect(committedRows(dir)).toBe(0)
    } finally {
      await logs.close()
      main.close()
    }
  })
})
