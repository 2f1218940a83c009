/**
 * @module renderExecutionTree: a flow execution (the API's show answer) drawn as a tree of nodes,
 * each attempt or visit with its status and duration, Parallel branches and Foreach iterations
 * nested under the node that ran them. Nesting comes from each entry's `path` (Strato's extension
 * to node details): `Fan#1/b0/Fetch#1@2` is attempt 2 of `Fetch` in branch 0 of `Fan`.
 */
import type { JsonObject } from '../client/index.js'
import { text } from './format-table.js'

interface TreeItem {
  label: string
  status: string
  begin: number
  end: number | undefined
  readonly error: string
  /** Made up for a visit the run did not list (a node whose entries are its calls): its status
   * and times come from what ran inside it. */
  readonly synthetic: boolean
  /** Children by scope segment (`b0`, `i17`). */
  readonly groups: Map<string, TreeItem[]>
}

/** `12ms`, `1.5s`, `2m03s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${Math.max(0, Math.round(ms))}ms`
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)}s`
  }
  const s = Math.round(ms / 1000)
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

function groupLabel(segment: string): string {
  const m = /^([bi])(\d+)$/.exec(segment)
  if (m === null) {
    return segment
  }
  return m[1] === 'b' ? `branch ${m[2] ?? ''}` : `iteration ${m[2] ?? ''}`
}

function groupOrder(segment: string): number {
  const m = /^[bi](\d+)$/.exec(segment)
  return m === null ? Number.MAX_SAFE_INTEGER : Number(m[1])
}

const visitOf = (segment: string): string => segment.replace(/@\d+$/, '')
const stateOf = (segment: string): string => segment.replace(/#\d+(@\d+)?$/, '')

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

/** The tree's roots, built from `node_execution_details`. */
function buildTree(details: readonly JsonObject[]): TreeItem[] {
  const roots: TreeItem[] = []
  const byVisit = new Map<string, TreeItem>()
  const newItem = (
    label: string,
    status: string,
    begin: number,
    end: number | undefined,
    error: string,
    synthetic = false,
  ): TreeItem => ({ label, status, begin, end, error, synthetic, groups: new Map() })
  /** Each node's label, for a visit the run did not list (named by the node's state). */
  const baseById = new Map<string, string>()
  /** Puts `item` under the visit its path's scope names (made up when the run did not list it). */
  const place = (item: TreeItem, segments: readonly string[]): TreeItem | undefined => {
    if (segments.length < 3) {
      roots.push(item)
      return undefined
    }
    const parentSegments = segments.slice(0, -2)
    const parentKey = parentSegments.map(visitOf).join('/')
    let parent = byVisit.get(parentKey)
    if (parent === undefined) {
      const state = stateOf(parentSegments.at(-1) ?? '')
      parent = newItem(baseById.get(state) ?? state, '', item.begin, undefined, '', true)
      byVisit.set(parentKey, parent)
      place(parent, parentSegments)
    }
    const group = segments.at(-2) ?? ''
    const siblings = parent.groups.get(group) ?? []
    siblings.push(item)
    parent.groups.set(group, siblings)
    return parent
  }
  const entries: { item: TreeItem; segments: string[]; nodeId: string; short: string }[] = []
  /** The run of failed visits just before, per node and scope: the next visit is a retry. */
  const failedRuns = new Map<string, number>()
  for (const node of details) {
    const name = text(node.node_name)
    const id = text(node.node_id)
    const base = name === id || id === '' ? name : `${name} [${id}]`
    baseById.set(id, base)
    for (const e of (node.executions as JsonObject[] | undefined) ?? []) {
      const path = text(e.path)
      const segments = path === '' ? [id] : path.split('/')
      const status = text(e.status)
      const scopeKey = `${id}|${segments.slice(0, -1).join('/')}`
      const failedBefore = failedRuns.get(scopeKey) ?? 0
      failedRuns.set(scopeKey, status === 'fail' || status === 'timeout' ? failedBefore + 1 : 0)
      // An ASL retry says its attempt in the path (`@n`); a Huawei retry visits the state again.
      const attempt =
        /@(\d+)$/.exec(segments.at(-1) ?? '')?.[1] ??
        (failedBefore > 0 ? String(failedBefore + 1) : undefined)
      const suffix = attempt === undefined ? '' : ` (attempt ${attempt})`
      // The function a call ran: `urn:fss:<region>:<project>:function:<package>:<name>:…`.
      const fn = text(e.function_urn).split(':')[6]
      const called = fn === undefined || fn === '' ? base : `${base} → ${fn}`
      const item = newItem(
        `${called}${suffix}`,
        status,
        numberOr(e.begin_time, 0),
        typeof e.end_time === 'number' ? e.end_time : undefined,
        text(e.error_message),
      )
      const short = fn === undefined || fn === '' ? '' : `→ ${fn}${suffix}`
      entries.push({ item, segments, nodeId: id, short })
      // The first attempt of a visit holds what ran inside it.
      const key = segments.map(visitOf).join('/')
      if (!byVisit.has(key)) {
        byVisit.set(key, item)
      }
    }
  }
  for (const { item, segments, nodeId, short } of entries) {
    const parent = place(item, segments)
    // A node's own calls inside its branches or iterations (Parallel, Foreach): under the node's
    // line, the function says enough.
    if (parent?.synthetic === true && short !== '' && baseById.get(nodeId) === parent.label) {
      item.label = short
    }
  }
  roots.forEach(summarise)
  return roots
}

const OUTCOME_RANK: Readonly<Record<string, number>> = {
  running: 4,
  fail: 3,
  timeout: 2,
  cancel: 1,
  success: 0,
}

/**
 * A made-up visit takes its times from everything inside it, and its status from the last
 * attempt of each branch or iteration: running while one runs, else the worst outcome.
 */
function summarise(item: TreeItem): void {
  const groups = [...item.groups.values()]
  groups.forEach((children) => children.forEach(summarise))
  if (!item.synthetic || groups.length === 0) {
    return
  }
  const all = groups.flat()
  item.begin = Math.min(...all.map((c) => c.begin))
  const lasts = groups.map((children) => children.reduce((a, b) => (b.begin >= a.begin ? b : a)))
  const worst = lasts.reduce((a, b) =>
    (OUTCOME_RANK[b.status] ?? 0) > (OUTCOME_RANK[a.status] ?? 0) ? b : a,
  )
  item.status = worst.status
  item.end = all.some((c) => c.end === undefined)
    ? undefined
    : Math.max(...all.map((c) => c.end ?? 0))
}

function line(item: TreeItem, now: number): string {
  const parts = [item.label]
  if (item.status !== '') {
    parts.push(item.status)
  }
  if (item.status !== '' || item.end !== undefined) {
    const d = (item.end ?? now) - item.begin
    parts.push(item.end === undefined ? `${formatDuration(d)}…` : formatDuration(d))
  }
  if (item.error !== '') {
    parts.push(item.error.length > 100 ? `${item.error.slice(0, 100)}…` : item.error)
  }
  return parts.join('  ')
}

function renderItems(items: readonly TreeItem[], prefix: string, out: string[], now: number): void {
  const sorted = [...items].sort((a, b) => a.begin - b.begin)
  sorted.forEach((item, i) => {
    const last = i === sorted.length - 1
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${line(item, now)}`)
    const inner = `${prefix}${last ? '   ' : '│  '}`
    const groups = [...item.groups.entries()].sort(
      ([a], [b]) => groupOrder(a) - groupOrder(b) || a.localeCompare(b),
    )
    groups.forEach(([segment, children], g) => {
      const lastGroup = g === groups.length - 1
      out.push(`${inner}${lastGroup ? '└─ ' : '├─ '}${groupLabel(segment)}`)
      renderItems(children, `${inner}${lastGroup ? '   ' : '│  '}`, out, now)
    })
  })
}

/**
 * The execution as lines of text: a head line (id, status, duration) and the tree of nodes.
 *
 * @example
 * renderExecutionTree(await client.showExecution(flowId, runId))
 * // execution 3f…  success  2.4s
 * // ├─ prepare  success  31ms
 * // └─ fan  success  1.2s
 * //    ├─ branch 0
 * //    │  └─ fetch  success  0.9s
 */
export function renderExecutionTree(execution: JsonObject, now = Date.now()): string {
  const begin = Date.parse(text(execution.begin_time))
  const endText = text(execution.end_time)
  const end = endText === '' ? undefined : Date.parse(endText)
  const head = [`execution ${text(execution.execution_id)}`, text(execution.status)]
  if (Number.isFinite(begin)) {
    const d = formatDuration((end ?? now) - begin)
    head.push(end === undefined ? `${d}…` : d)
  }
  const error = execution.error as JsonObject | undefined
  if (error !== undefined) {
    head.push(
      `${text(error.error)}${text(error.node_id) === '' ? '' : ` at ${text(error.node_id)}`}`,
    )
  }
  const out = [head.join('  ')]
  const details = (execution.node_execution_details as JsonObject[] | undefined) ?? []
  renderItems(buildTree(details), '', out, now)
  return out.join('\n')
}
