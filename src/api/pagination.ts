/**
 * @module parsePageQuery: the one parser of every list's paging query (`marker` with `maxitems` or
 * `limit`). A bad or out-of-range value is 400 FSS.1001 naming the parameter.
 */
import { StratoError } from '../core/index.js'

/** Where a list page starts and how many items it holds at most. */
export interface PageQuery {
  /** Items to skip: the `next_marker` of the page before. */
  readonly marker: number
  /** Items on the page at most. */
  readonly size: number
}

/** The paging part of a parsed query string (Fastify gives strings, or arrays when repeated). */
export interface PagingParams {
  readonly marker?: unknown
  readonly maxitems?: unknown
  readonly limit?: unknown
}

/**
 * How one list pages. FunctionGraph has two styles (reference §1.1):
 * * `maxitems` - functions, versions, dependencies, events: left out, 0 or over `max` means `max`;
 * * `limit`    - async records and configs, dead letters, logs: left out is `fallback`, and a value
 *                outside 1 to `max` is refused.
 */
export type PageRules =
  | { readonly size: 'maxitems'; readonly max: number }
  | { readonly size: 'limit'; readonly fallback: number; readonly max: number }

// A marker is a row offset: it must fit SQLite's integer and stay exact in a JS number.
const MAX_MARKER = Number.MAX_SAFE_INTEGER
const DIGITS = /^\d{1,16}$/

function invalid(name: string, min: number, max: number, raw: unknown): StratoError {
  // A repeated parameter arrives as an array: which one was meant is unknowable.
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw)
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text
  return new StratoError(
    'INVALID_QUERY',
    `Invalid query parameter '${name}' (${JSON.stringify(shown)}): it must be an integer from ${min} to ${max}.`,
  )
}

/** A decimal integer from `min` to `max`, or `undefined` when left out (absent or empty). */
function integerParam(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  const value = typeof raw === 'string' && DIGITS.test(raw) ? Number(raw) : NaN
  if (!(value >= min && value <= max)) {
    throw invalid(name, min, max, raw)
  }
  return value
}

/**
 * Parses `marker` and the list's size parameter from a query string.
 *
 * @example
 * const { marker, size } = parsePageQuery(request.query, { size: 'limit', fallback: 100, max: 500 })
 */
export function parsePageQuery(query: PagingParams, rules: PageRules): PageQuery {
  const marker = integerParam(query.marker, 'marker', 0, MAX_MARKER) ?? 0
  if (rules.size === 'maxitems') {
    const asked = integerParam(query.maxitems, 'maxitems', 0, MAX_MARKER)
    return {
      marker,
      size: asked === undefined || asked === 0 || asked > rules.max ? rules.max : asked,
    }
  }
  return { marker, size: integerParam(query.limit, 'limit', 1, rules.max) ?? rules.fallback }
}
