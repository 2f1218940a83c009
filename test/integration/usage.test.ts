/**
 * Usage is durable: what ran before a shutdown is written as it closes and read back after a
 * restart on the same data dir, while the in-memory statistics start over.
 */
import fs from 'node:fs'
import { expect, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import { PROJECT_ID, startTestStrato, tmpDir } from '../helpers/strato.js'

const SOURCE = 'exports.handler = async () => ({ ok: true })'

test('usage rows survive a restart; 1024 MB for n invocations is n × billed seconds GB-s', async () => {
  const dataDir = tmpDir()
  try {
    const first = await startTestStrato({}, dataDir)
    let billedMs = 0
    try {
      await first.client.createFunction(inlineFunction('usage-fn', SOURCE, { memory_size: 1024 }))
      for (let i = 0; i < 3; i++) {
        const res = await first.client.invoke('usage-fn', '{}')
        billedMs += res.summary.billingDuration ?? Number.NaN
      }
    } finally {
      await first.close()
    }
    const second = await startTestStrato({}, dataDir)
    try {
      const answer = await second.client.usage({ start_time: Date.now() - 3_600_000 * 2 })
      const rows = answer.usage as Array<{
        function_name: string
        requests: number
        gb_seconds: number
      }>
      expect(rows.map((r) => r.function_name)).toEqual(['default/usage-fn'])
      expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(3)
      expect(rows.reduce((n, r) => n + r.gb_seconds, 0)).toBeCloseTo(billedMs / 1000, 6)
      // The per-minute series live in memory only.
      const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:usage-fn:latest`
      const stats = await second.client.raw(
        'GET',
        `/v2/${PROJECT_ID}/fgs/functions/${urn}/statistics/5`,
      )
      expect(stats.status).toBe(200)
      const body = JSON.parse(stats.body.toString('utf8')) as { count: Array<{ value: number }> }
      expect(body.count.reduce((n, p) => n + p.value, 0)).toBe(0)
    } finally {
      await second.close()
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})
