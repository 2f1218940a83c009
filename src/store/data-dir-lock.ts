/**
 * @module One Strato per data dir: a second one would reap the first one's instances at start and
 * write the same database. The lock file names the owner by pid and start time, so a lock left by a
 * crashed run is recognised as stale and taken over.
 */
import fs from 'node:fs'
import path from 'node:path'
import { StratoError, readProcessStartTime } from '../core/index.js'

export interface DataDirLock {
  release(): void
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(dataDir, 'strato.lock')
  const mine = `${process.pid} ${readProcessStartTime(process.pid) ?? ''}\n`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o600 })
      return {
        release() {
          try {
            if (fs.readFileSync(file, 'utf8') === mine) {
              fs.rmSync(file)
            }
          } catch {
            // already gone
          }
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StratoError('INTERNAL', `Cannot create the lock ${file}.`, { cause: err })
      }
    }
    const [pidText = '', started = ''] = fs.readFileSync(file, 'utf8').trim().split(' ')
    const pid = Number(pidText)
    const alive = Number.isInteger(pid) && pid > 0 && readProcessStartTime(pid) === started
    if (alive) {
      throw new StratoError(
        'DATA_DIR_IN_USE',
        `The data dir ${dataDir} is in use by another Strato (pid ${pid}).`,
      )
    }
    fs.rmSync(file, { force: true }) // stale: its owner is gone
  }
  throw new StratoError('DATA_DIR_IN_USE', `The data dir ${dataDir} could not be locked.`)
}
