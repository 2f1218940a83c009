/**
 * @module `strato usage`: requests and GB-seconds per function over the last hours, from the
 * server's durable hourly usage rows (the basis of pay-per-use).
 */
import { Command } from 'commander'
import type { JsonObject } from '../client/index.js'
import { printJson, type CliContext } from './cli-context.js'
import { formatTable, text } from './format-table.js'
import { wholeNumberIn } from './parse-options.js'

interface FunctionUsage {
  name: string
  requests: number
  gbSeconds: number
}

/** The rows summed per function, busiest first. */
export function usageByFunction(rows: readonly JsonObject[]): FunctionUsage[] {
  const byId = new Map<string, FunctionUsage>()
  for (const r of rows) {
    const id = text(r.function_id)
    const u = byId.get(id) ?? { name: text(r.function_name), requests: 0, gbSeconds: 0 }
    u.requests += typeof r.requests === 'number' ? r.requests : 0
    u.gbSeconds += typeof r.gb_seconds === 'number' ? r.gb_seconds : 0
    byId.set(id, u)
  }
  return [...byId.values()].sort(
    (a, b) => b.gbSeconds - a.gbSeconds || a.name.localeCompare(b.name),
  )
}

export function usageCommand(ctx: CliContext): Command {
  return new Command('usage')
    .description('show requests and GB-seconds per function (--hours back, default 24)')
    .option('--hours <n>', 'how many hours back', wholeNumberIn(1, 24 * 366, 'hours'), 24)
    .option('--hourly', 'one row per function and hour')
    .option('--json', 'print the full API answer')
    .action(async (o: { hours: number; hourly?: boolean; json?: boolean }) => {
      const now = Date.now()
      const answer = await ctx.client().usage({ start_time: now - o.hours * 3_600_000 })
      if (o.json === true) {
        printJson(answer)
        return
      }
      const rows = (answer.usage as JsonObject[] | undefined) ?? []
      if (rows.length === 0) {
        console.log(`no usage in the last ${o.hours} hours`)
        return
      }
      if (o.hourly === true) {
        console.log(
          formatTable(
            ['HOUR', 'FUNCTION', 'REQUESTS', 'GB-SECONDS'],
            rows.map((r) => [
              text(r.hour),
              text(r.function_name),
              text(r.requests),
              Number(r.gb_seconds).toFixed(6),
            ]),
          ),
        )
        return
      }
      const totals = usageByFunction(rows)
      console.log(
        formatTable(
          ['FUNCTION', 'REQUESTS', 'GB-SECONDS'],
          [
            ...totals.map((u) => [u.name, String(u.requests), u.gbSeconds.toFixed(6)]),
            [
              'TOTAL',
              String(totals.reduce((n, u) => n + u.requests, 0)),
              totals.reduce((n, u) => n + u.gbSeconds, 0).toFixed(6),
            ],
          ],
        ),
      )
    })
}
