/**
 * The peers race (issue 20): Strato beside bare node:http, faas-js-runtime, Google's
 * functions-framework and Cloudflare's workerd, on this machine, in one interleaved run. The race
 * itself lives beside the project, in `../shared/bench/peers/bench.mjs` (it installs the peers on
 * its first run and starts Strato from a clean clone of this checkout's HEAD, as a new user would);
 * this script runs it from the checkout and passes its `PEERS_*` knobs on. Without that folder
 * (a clone on its own) it says so and ends without failing, like every other timing here.
 * Run with `npm run bench` or `node --import tsx bench/peers.ts`.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { QUICK, REPO_ROOT } from './lib/settings.js'

const RACE = path.resolve(REPO_ROOT, '..', 'shared', 'bench', 'peers', 'bench.mjs')

async function main(): Promise<number> {
  if (!fs.existsSync(RACE)) {
    console.log(`bench/peers: ${RACE} is not here; the peers race is skipped`)
    return 0
  }
  // A smoke run (BENCH_QUICK=1) shrinks the race the same way the other scripts shrink.
  const quick = QUICK
    ? { PEERS_DURATION: '1', PEERS_WARMUP: '1', PEERS_CONNECTIONS: '8', PEERS_ROUNDS: '1' }
    : {}
  const child = spawn(process.execPath, [RACE], {
    cwd: REPO_ROOT,
    env: { ...quick, ...process.env },
    stdio: 'inherit',
  })
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal)
  }
  process.once('SIGINT', forward)
  process.once('SIGTERM', forward)
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 130)))
  })
}

process.exitCode = await main()
