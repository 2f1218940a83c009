/**
 * @module The transition graph of one scope (the flow, a Parallel branch, a Foreach body):
 * every transition names a state of the same scope, and the graph is a DAG, as Huawei requires
 * (a loop is a Foreach node, not a cycle of transitions).
 */
import { invalid } from './body-fields.js'
import type { NextStep, StateModel } from './workflow-model.js'

interface Edge {
  readonly target: string
  /** The field that names the target, for error messages. */
  readonly field: string
}

export function edgesOf(state: StateModel): Edge[] {
  const edges: Edge[] = []
  const add = (next: NextStep, field: string): void => {
    if (next.kind === 'to') {
      edges.push({ target: next.target, field })
    }
  }
  switch (state.type) {
    case 'End':
      break
    case 'Switch':
      state.conditions.forEach((c, i) => add(c.next, `data_conditions[${i}].transition`))
      add(state.otherwise, 'default_condition.transition')
      break
    case 'Sleep':
      add(state.next, 'transition')
      break
    case 'Operation':
    case 'Parallel':
    case 'Foreach':
      add(state.next, 'transition')
      state.onErrors.forEach((handler, i) => {
        if (handler.transition !== undefined) {
          edges.push({ target: handler.transition, field: `on_errors[${i}].transition` })
        }
      })
      break
  }
  return edges
}

/** Checks the scope's transitions; returns the ids reachable from `start`. */
export function checkScopeGraph(
  states: readonly StateModel[],
  start: string,
  nested: boolean,
): Set<string> {
  const byId = new Map(states.map((s) => [s.id, s]))
  const edges = new Map<string, Edge[]>()
  for (const state of states) {
    const out = edgesOf(state)
    for (const edge of out) {
      if (!byId.has(edge.target)) {
        invalid(
          `state "${state.id}": ${edge.field} "${edge.target}" is not a state id` +
            (nested ? ' of the same sub-flow' : ''),
        )
      }
    }
    edges.set(state.id, out)
  }

  // Depth-first search; a state met again while still on the stack closes a cycle.
  const done = new Set<string>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const visit = (id: string): void => {
    if (done.has(id)) {
      return
    }
    if (onStack.has(id)) {
      const cycle = [...stack.slice(stack.indexOf(id)), id].join(' → ')
      invalid(
        `state "${id}": the transitions form a cycle (${cycle}); a flow must be a DAG (loop with a Foreach state)`,
      )
    }
    onStack.add(id)
    stack.push(id)
    for (const edge of edges.get(id) ?? []) {
      visit(edge.target)
    }
    stack.pop()
    onStack.delete(id)
    done.add(id)
  }
  for (const state of states) {
    visit(state.id)
  }

  const reachable = new Set<string>()
  const pending = [start]
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (reachable.has(id)) {
      continue
    }
    reachable.add(id)
    for (const edge of edges.get(id) ?? []) {
      pending.push(edge.target)
    }
  }
  return reachable
}
