'use strict'
// Not a guest: a worker thread of Strato's own process (src/store/invocation-log-store.ts) that
// owns every write to `logs.db`. Invocation logs are the API's only per-request write; done here,
// SQLite's inserts run beside the event loop instead of inside it.
//
// Messages, handled in order:
//   { rows: [[13 column values], …] }          insert, one transaction, duplicates ignored
//   { prune: { functionId?, before? } }         delete a function's logs and/or older ones
//   { done: Int32Array on a SharedArrayBuffer } after everything before it: set [0] = 1 and notify
//   { ack: n }                                  after everything before it: post { ack: n } back
//   { close: true }                             close logs.db (a clean checkpoint) and end
// Errors are posted back as { error: string } and never stop the writer.

const { parentPort, workerData } = require('node:worker_threads')
const SQLite = require(workerData.sqliteModule)

const db = new SQLite(workerData.file)
db.pragma('journal_mode = WAL')
// NORMAL: a commit survives a process crash; a power cut may lose the last batches, never corrupt.
db.pragma('synchronous = NORMAL')
db.pragma('busy_timeout = 5000')

const insert = db.prepare(workerData.insertSql)
const insertRows = db.transaction((rows) => {
  for (const row of rows) insert.run(row)
})
const pruneFunction = db.prepare('delete from invocation_logs where function_id = ?')
const pruneBefore = db.prepare('delete from invocation_logs where started_at < ?')

parentPort.on('message', (m) => {
  try {
    if (m.rows !== undefined) insertRows(m.rows)
    if (m.prune !== undefined) {
      if (m.prune.functionId !== undefined) pruneFunction.run(m.prune.functionId)
      if (m.prune.before !== undefined) pruneBefore.run(m.prune.before)
    }
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.stack) || err) })
  }
  if (m.ack !== undefined) parentPort.postMessage({ ack: m.ack })
  if (m.done !== undefined) {
    Atomics.store(m.done, 0, 1)
    Atomics.notify(m.done, 0)
  }
  if (m.close === true) {
    db.close()
    parentPort.close()
  }
})
