// @ts-check
/**
 * @module The worker thread of Strato's own process (started by `InvocationLogStore`) that owns
 * every write to `logs.db`. Invocation logs are the API's only per-request write; done here,
 * SQLite's inserts run beside the event loop instead of inside it (ADR 0008).
 *
 * JavaScript, type-checked through JSDoc: a worker is loaded by file at run time, and this one
 * file serves both the sources (tests) and `dist/` (`npm start`), where the build copies it.
 *
 * Messages, handled in order:
 * * `{ rows: [[13 column values], …] }` - insert with the lines' levels, one transaction,
 *   duplicates ignored
 * * `{ statusRows: [[9 column values], …] }` - insert async status changes, one transaction
 * * `{ prune: { functionId?, before? } }` - delete a function's logs and/or older ones
 * * `{ done: Int32Array on a SharedArrayBuffer }` - after everything before it: set [0] = 1 and notify
 * * `{ ack: n }` - after everything before it: post `{ ack: n }` back
 * * `{ close: true }` - close logs.db (a clean checkpoint) and end
 *
 * Errors are posted back as `{ error: string }` and never stop the writer.
 */
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * @typedef {object} WriterData
 * @property {string} file path of logs.db
 * @property {string} sqliteModule resolved path of better-sqlite3
 * @property {string} insertSql the insert statement, 14 parameters (the levels last)
 * @property {string} insertStatusSql the async status insert statement, 9 parameters
 *
 * @typedef {object} WriterMessage
 * @property {unknown[][]} [rows]
 * @property {unknown[][]} [statusRows]
 * @property {{ functionId?: string, before?: number }} [prune]
 * @property {Int32Array} [done]
 * @property {number} [ack]
 * @property {true} [close]
 */

/** @type {unknown} */
const given = workerData
const data = /** @type {WriterData} */ (given)
const port = parentPort
if (port === null) {
  throw new Error('invocation-log-writer runs as a worker thread only')
}
/** @type {unknown} */
const sqliteModule = createRequire(import.meta.url)(data.sqliteModule)
const SQLite = /** @type {typeof import('better-sqlite3')} */ (sqliteModule)

const db = new SQLite(data.file)
db.pragma('journal_mode = WAL')
// NORMAL: a commit survives a process crash; a power cut may lose the last batches, never corrupt.
db.pragma('synchronous = NORMAL')
db.pragma('busy_timeout = 5000')

/**
 * A logger line is `<time> <request id> [<invoke id>] <LEVEL> <message>` (Node, Python, Java, Go,
 * PHP guests); Python's WARNING counts as WARN.
 */
const LEVEL_LINE = /^\S+ (?:\S+ ){1,2}(DEBUG|INFO|WARN|WARNING|ERROR)(?= |$)/gm
/** @type {Record<string, number>} bit of each level, as LOG_LEVELS in core orders them */
const LEVEL_BITS = { DEBUG: 1, INFO: 2, WARN: 4, WARNING: 4, ERROR: 8 }

/**
 * The levels of an entry's lines, as a bit mask; a failed invocation's log has an ERROR line.
 * Done here, not on the invoke path: the event loop never scans output.
 * @param {unknown} output
 * @param {unknown} errorType
 */
function levelsOf(output, errorType) {
  let mask = errorType === null ? 0 : 8
  if (typeof output === 'string') {
    for (const m of output.matchAll(LEVEL_LINE)) {
      mask |= LEVEL_BITS[m[1] ?? ''] ?? 0
    }
  }
  return mask
}

const insert = db.prepare(data.insertSql)
const insertRows = db.transaction(
  /** @param {unknown[][]} rows */ (rows) => {
    for (const row of rows) {
      insert.run([...row, levelsOf(row[12], row[10])])
    }
  },
)
const insertStatus = db.prepare(data.insertStatusSql)
const insertStatusRows = db.transaction(
  /** @param {unknown[][]} rows */ (rows) => {
    for (const row of rows) {
      insertStatus.run(row)
    }
  },
)
const pruneFunction = db.prepare('delete from invocation_logs where function_id = ?')
const pruneBefore = db.prepare('delete from invocation_logs where started_at < ?')
const pruneFunctionStatus = db.prepare('delete from async_status_logs where function_id = ?')
const pruneStatusBefore = db.prepare('delete from async_status_logs where at < ?')

port.on('message', (/** @type {WriterMessage} */ m) => {
  try {
    if (m.rows !== undefined) {
      insertRows(m.rows)
    }
    if (m.statusRows !== undefined) {
      insertStatusRows(m.statusRows)
    }
    if (m.prune !== undefined) {
      if (m.prune.functionId !== undefined) {
        pruneFunction.run(m.prune.functionId)
        pruneFunctionStatus.run(m.prune.functionId)
      }
      if (m.prune.before !== undefined) {
        pruneBefore.run(m.prune.before)
        pruneStatusBefore.run(m.prune.before)
      }
    }
  } catch (err) {
    port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
  }
  if (m.ack !== undefined) {
    port.postMessage({ ack: m.ack })
  }
  if (m.done !== undefined) {
    Atomics.store(m.done, 0, 1)
    Atomics.notify(m.done, 0)
  }
  if (m.close === true) {
    db.close()
    port.close()
  }
})
