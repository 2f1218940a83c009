/**
 * @module The gateway's route table: APIG triggers compiled to matchers. A request is matched by
 * method and path; literal segments beat parameters, exact (`NORMAL`) beats prefix (`SWA`) routes.
 */
import type { ApigTriggerRecord } from '../core/index.js'

type Segment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'rest'; readonly name: string }

interface Route {
  readonly trigger: ApigTriggerRecord
  readonly segments: readonly Segment[]
  readonly prefix: boolean
  readonly score: number
}

export interface RouteMatch {
  readonly trigger: ApigTriggerRecord
  readonly pathParameters: Record<string, string>
}

function compile(trigger: ApigTriggerRecord): Route {
  const path = trigger.eventData.path
  const segments: Segment[] = (path === '/' ? [] : path.slice(1).split('/')).map((s) => {
    if (s.startsWith('{') && s.endsWith('+}')) {
      return { kind: 'rest', name: s.slice(1, -2) }
    }
    if (s.startsWith('{') && s.endsWith('}')) {
      return { kind: 'param', name: s.slice(1, -1) }
    }
    return { kind: 'literal', value: s }
  })
  const literals = segments.filter((s) => s.kind === 'literal').length
  const prefix = trigger.eventData.match_mode === 'SWA'
  return {
    trigger,
    segments,
    prefix,
    // Most specific first: literal segments, then length, then exact over prefix matching.
    score: literals * 10_000 + segments.length * 10 + (prefix ? 0 : 1),
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

export class ApigRouter {
  readonly #routes: Route[]

  constructor(triggers: readonly ApigTriggerRecord[]) {
    this.#routes = triggers.map(compile).sort((a, b) => b.score - a.score)
  }

  get size(): number {
    return this.#routes.length
  }

  match(method: string, path: string): RouteMatch | undefined {
    const parts = path === '/' || path === '' ? [] : path.replace(/^\//, '').split('/')
    for (const route of this.#routes) {
      const want = route.trigger.eventData.req_method
      if (want !== 'ANY' && want !== method) {
        continue
      }
      const params = matchSegments(route, parts)
      if (params !== undefined) {
        return { trigger: route.trigger, pathParameters: params }
      }
    }
    return undefined
  }
}

function matchSegments(route: Route, parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {}
  const segs = route.segments
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]
    const part = parts[i]
    if (seg === undefined) {
      break
    }
    if (seg.kind === 'rest') {
      if (part === undefined) {
        return undefined
      }
      params[seg.name] = parts.slice(i).map(decode).join('/')
      return params
    }
    if (part === undefined) {
      return undefined
    }
    if (seg.kind === 'literal') {
      if (seg.value !== part) {
        return undefined
      }
    } else {
      params[seg.name] = decode(part)
    }
  }
  if (parts.length > segs.length && !route.prefix) {
    return undefined
  }
  return params
}
