/**
 * What the bench prints: summaries of samples, number formats, ratios and tables. The formats stay
 * as they were so that runs stay comparable with earlier ones.
 */

export interface Summary {
  n: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** The nearest-rank percentile of ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b)
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    mean: s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
  }
}

/** Milliseconds with the digits that matter: `1.23`, `12.3`, `123`; `n/a` when not finite. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) {
    return 'n/a'
  }
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** `measured / baseline`, or undefined when there is no baseline to divide by. */
export function ratio(measured: number, baseline: number): number | undefined {
  return baseline > 0 ? measured / baseline : undefined
}

/** A ratio as the tables print it: three decimals, `-` when there is none. */
export function formatRatio(r: number | undefined): string {
  return r === undefined ? '-' : r.toFixed(3)
}

/** A table with its columns padded to their widest cell (bench/run.ts). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

/** A table with unpadded cells and `| --- |` under the header (bench/sandbox.ts, gateway.ts). */
export function compactTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ]
}

/** An error's message, or the value as JSON, for a problem line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    return err.message
  }
  try {
    return JSON.stringify(err)
  } catch {
    return String(err)
  }
}
