/**
 * @module Host-wide registry of the sandbox uid ranges that live Stratos hold, so two servers on
 * one host never run instances as the same uid (one could then signal or read the other's).
 *
 * The registry is a small SQLite file (root's, under /run): its transactions take a kernel file
 * lock, so two servers starting at once see each other's reservation, and a reservation names its
 * holder by pid and start time, so one left by a crashed server is recognised as stale and reused.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import SQLite from 'better-sqlite3'
import { StratoError, readProcessStartTime } from '../core/index.js'

/** The registry used by servers on this host (root only: uids are only used as root). */
export const DEFAULT_UID_REGISTRY_FILE = '/run/strato/uid-ranges.db'

/** Highest uid handed out: 2^32 - 2, as (uid_t) -1 means "no uid" to the kernel. */
const MAX_UID = 4_294_967_294

export interface UidRange {
  /** The first uid of the range. */
  readonly first: number
  readonly count: number
}

/** A range held until `release` (idempotent), or until its holder's process is gone. */
export interface UidRangeReservation {
  readonly range: UidRange
  release(): void
}

export interface UidRangeRequest {
  /** Where the registry lives; `DEFAULT_UID_REGISTRY_FILE` outside tests. */
  readonly registryFile: string
  /** The first uid to consider. */
  readonly base: number
  readonly count: number
  /**
   * `true`: exactly `[base, base + count)` (an explicit setting), refused while another live server
   * holds any of it. `false`: the first free range of `count` uids from `base` up.
   */
  readonly fixed: boolean
  /** Who holds it, for the message another server shows (the data dir). */
  readonly holder: string
}

interface ReservationRow {
  readonly first: number
  readonly count: number
  readonly pid: number
  readonly started: string
  readonly holder: string
  readonly token: string
}

function openRegistry(file: string): SQLite.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const db = new SQLite(file)
  db.pragma('busy_timeout = 5000')
  db.exec(
    `CREATE TABLE IF NOT EXISTS uid_ranges (
       first INTEGER PRIMARY KEY, count INTEGER NOT NULL, pid INTEGER NOT NULL,
       started TEXT NOT NULL, holder TEXT NOT NULL, token TEXT NOT NULL UNIQUE)`,
  )
  return db
}

/** A holder is alive while its pid runs with the start time recorded (a recycled pid is not it). */
function isLive(row: ReservationRow): boolean {
  return readProcessStartTime(row.pid) === row.started
}

/**
 * Reserves a uid range for one server: the first free one from `base` (or exactly the one asked
 * for), dropping reservations of servers that are gone.
 * @example reserveUidRange({ registryFile, base: 200_000, count: 65_536, fixed: false, holder: dataDir })
 */
export function reserveUidRange(request: UidRangeRequest): UidRangeReservation {
  const token = randomUUID()
  const started = readProcessStartTime(process.pid) ?? ''
  const db = openRegistry(request.registryFile)
  let first: number
  try {
    first = db
      .transaction((): number => {
        const rows = db.prepare('SELECT * FROM uid_ranges ORDER BY first').all() as ReservationRow[]
        const live: ReservationRow[] = []
        for (const row of rows) {
          if (isLive(row)) {
            live.push(row)
          } else {
            db.prepare('DELETE FROM uid_ranges WHERE token = ?').run(row.token)
          }
        }
        let candidate = request.base
        for (const row of live) {
          const overlaps =
            row.first < candidate + request.count && candidate < row.first + row.count
          if (!overlaps) {
            continue
          }
          if (request.fixed) {
            throw new StratoError(
              'INVALID_PARAMETER',
              `Setting STRATO_SANDBOX_UID_BASE=${request.base}: uids ${row.first}–${row.first + row.count - 1} are used by another Strato (pid ${row.pid}, data dir ${row.holder}); choose a base at least ${request.count} away from it, or leave it unset.`,
            )
          }
          // Rows are sorted by first uid and do not overlap each other: move past this one.
          candidate = row.first + row.count
        }
        if (candidate + request.count - 1 > MAX_UID) {
          throw new StratoError(
            'INVALID_PARAMETER',
            `No ${request.count} free sandbox uids from ${request.base} up: other Stratos hold them.`,
          )
        }
        db.prepare(
          'INSERT INTO uid_ranges (first, count, pid, started, holder, token) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(candidate, request.count, process.pid, started, request.holder, token)
        return candidate
      })
      .immediate()
  } finally {
    db.close()
  }
  let released = false
  return {
    range: { first, count: request.count },
    release() {
      if (released) {
        return
      }
      released = true
      const registry = openRegistry(request.registryFile)
      try {
        registry.prepare('DELETE FROM uid_ranges WHERE token = ?').run(token)
      } finally {
        registry.close()
      }
    },
  }
}
