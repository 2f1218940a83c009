/**
 * Code packages in cluster mode (ADR 0028): what a cold node pays to run code another node
 * ingested. For zips of 1 MB and 20 MB (incompressible 256 KiB files, stored): the ingest on node A
 * (extract + put in the NATS object store), the first `verify` on node B (fetch, SHA-512 check,
 * extract with every ingest check, verify), the fetch alone, a warm `verify`, and, for comparison,
 * an ingest on a node without the bucket (the embedded store's own cost). Medians of
 * BENCH_CLUSTER_CODE_RUNS (5) runs, each on fresh data dirs and digests.
 * Needs the machine's NATS (STRATO_TEST_NATS_URL, default nats://127.0.0.1:4222); the bucket it
 * creates is deleted at the end. Run with `node --import tsx bench/cluster-code.ts`.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { connect } from 'nats'
import yazl from 'yazl'
import { NatsCodeObjects } from '../src/cluster/index.js'
import { CodeStore, DEFAULT_CODE_LIMITS } from '../src/store/code-store.js'
import { ms, summarize, table } from './lib/report.js'
import { envInt } from './lib/settings.js'

const RUNS = envInt('BENCH_CLUSTER_CODE_RUNS', 5, 2)
const NATS_URL = process.env.STRATO_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'

async function randomZip(mb: number): Promise<Buffer> {
  const z = new yazl.ZipFile()
  for (let i = 0; i < mb * 4; i++) {
    z.addBuffer(randomBytes(256 * 1024), `f/${i}.bin`, { compress: false })
  }
  z.end()
  const chunks: Buffer[] = []
  for await (const c of z.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const value = await fn()
  return [value, performance.now() - t0]
}

const nc = await connect({ servers: NATS_URL })
const objects = await NatsCodeObjects.open(nc, `bench_${Date.now().toString(36)}`)
const dirs: string[] = []
const freshStore = (withObjects: boolean): CodeStore => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-code-'))
  dirs.push(dir)
  return new CodeStore(dir, DEFAULT_CODE_LIMITS, withObjects ? objects : undefined)
}
const rows: string[][] = []
try {
  for (const mb of [1, 20]) {
    const samples = { local: [], ingest: [], fetch: [], cold: [], warm: [] } as Record<
      'local' | 'ingest' | 'fetch' | 'cold' | 'warm',
      number[]
    >
    for (let run = 0; run < RUNS; run++) {
      const bytes = await randomZip(mb)
      samples.local.push((await timed(() => freshStore(false).ingestArchive(bytes)))[1])
      const [stored, ingestMs] = await timed(() => freshStore(true).ingestArchive(bytes))
      samples.ingest.push(ingestMs)
      samples.fetch.push((await timed(() => objects.get(stored.digest)))[1])
      const b = freshStore(true)
      samples.cold.push((await timed(() => b.verify(stored.digest)))[1])
      samples.warm.push((await timed(() => b.verify(stored.digest)))[1])
    }
    const p50 = (xs: number[]): string => ms(summarize(xs).p50)
    rows.push([
      `${mb} MB`,
      p50(samples.local),
      p50(samples.ingest),
      p50(samples.fetch),
      p50(samples.cold),
      p50(samples.warm),
    ])
  }
  console.log(`Code packages through the NATS object store (${RUNS} runs each, medians, ms)`)
  console.log(
    table(
      [
        'zip',
        'ingest, no bucket',
        'ingest + put',
        'fetch only',
        'cold verify (fetch+extract)',
        'warm verify',
      ],
      rows,
    ),
  )
} finally {
  await objects.destroy()
  await nc.close()
  for (const dir of dirs) {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
