/**
 * docs/grafana-dashboard.json has what Grafana requires of a dashboard, and queries only metrics
 * that `/metrics` serves (the registry built here is the one main.ts builds).
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { FunctionMetrics } from './function-metrics.js'
import { createMetricsRegistry } from './metrics-registry.js'

const DASHBOARD = path.resolve(import.meta.dirname, '../../docs/grafana-dashboard.json')

interface Panel {
  id: number
  type: string
  title: string
  gridPos: { x: number; y: number; w: number; h: number }
  targets: Array<{ refId: string; expr: string }>
}
interface Dashboard {
  title: string
  uid: string
  schemaVersion: number
  panels: Panel[]
  templating: { list: Array<{ name: string; type: string; definition?: string }> }
}

const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'without',
  'rate',
  'increase',
  'histogram_quantile',
  'clamp_min',
  'label_values',
  'avg',
  'max',
  'min',
])

/** The metric names a PromQL expression reads (label matchers, ranges and groupings removed). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/(?<![\w.])\d+(\.\d+)?(e[-+]?\d+)?/gi, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '')
    .replace(/,\s*[a-z_]+\)\s*$/, ')') // label_values(metric, label): the label is no metric
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((w) => !PROMQL_WORDS.has(w))
}

async function servedNames(): Promise<Set<string>> {
  const registry = createMetricsRegistry(new FunctionMetrics(), {
    instances: () => ({ idle: 0, busy: 0, starting: 0 }),
  })
  const served = new Set<string>()
  for (const line of (await registry.metrics()).split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (m !== null) {
      served.add(m[1]!)
      if (m[2] === 'histogram' || m[2] === 'summary') {
        for (const suffix of ['_bucket', '_sum', '_count']) {
          served.add(`${m[1]!}${suffix}`)
        }
      }
    }
  }
  return served
}

test('metricNamesIn finds the metrics of an expression and nothing else', () => {
  expect(
    metricNamesIn(
      'histogram_quantile(0.95, sum by (le) (rate(a_bucket{function=~"$f",x="1"}[$__rate_interval]))) / clamp_min(b_total, 1e-9)',
    ),
  ).toEqual(['a_bucket', 'b_total'])
  expect(metricNamesIn('label_values(strato_invocations_total{project=~"$p"}, function)')).toEqual([
    'strato_invocations_total',
  ])
})

test("the dashboard has Grafana's required fields and well-formed panels", () => {
  const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard
  expect(typeof d.title).toBe('string')
  expect(d.title.length).toBeGreaterThan(0)
  expect(Number.isInteger(d.schemaVersion)).toBe(true)
  expect(Array.isArray(d.panels) && d.panels.length > 0).toBe(true)
  const ids = new Set<number>()
  for (const p of d.panels) {
    expect(typeof p.type, p.title).toBe('string')
    expect(Array.isArray(p.targets) && p.targets.length > 0, p.title).toBe(true)
    expect(ids.has(p.id), `duplicate panel id ${p.id}`).toBe(false)
    ids.add(p.id)
    for (const key of ['x', 'y', 'w', 'h'] as const) {
      expect(Number.isInteger(p.gridPos[key]), `${p.title} gridPos.${key}`).toBe(true)
    }
    expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24) // Grafana's grid is 24 wide
    expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length)
  }
})

test('every query of the dashboard reads only metrics /metrics serves', async () => {
  const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard
  const served = await servedNames()
  const queries = [
    ...d.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...d.templating.list.flatMap((v) => (v.type === 'query' ? [v.definition ?? ''] : [])),
  ]
  const unknown: string[] = []
  for (const q of queries) {
    const names = metricNamesIn(q)
    expect(names.length, q).toBeGreaterThan(0)
    unknown.push(...names.filter((n) => !served.has(n)).map((n) => `${n} (in ${q})`))
  }
  expect(unknown).toEqual([])
})
