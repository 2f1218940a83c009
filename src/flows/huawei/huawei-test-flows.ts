/**
 * @module Test support for the Huawei flow tests: compiles a v2 body, validates its IR like the
 * API does, and runs it on the interpreter with an in-memory host (fake functions by URN, fake
 * time: a sleep ends at once and moves the clock; a call slower than its timeout is a
 * States.Timeout with the durable host's JSON cause).
 */
import type { JsonObject, JsonValue } from '../asl/definition.js'
import type { ExecutionHost, TaskOutcome, TaskRequest } from '../asl/host.js'
import { runStateMachine } from '../asl/interpreter.js'
import { validateDefinition } from '../asl/validate-definition.js'
import { compileHuaweiWorkflow } from './compile-workflow.js'

/** A fake function: its answer for a call, and how long it "runs" (fake seconds). */
export type FakeFunction = (
  payload: JsonValue,
  call: number,
) =>
  | { output: JsonValue; seconds?: number }
  | {
      error: string
      message: string
      seconds?: number
      /** The Cause as the host reports it; by default the durable host's JSON. */
      cause?: string | null
    }

export const urn = (name: string): string => `urn:fss:cn-north-7:p0:function:default:${name}:latest`

export interface Run {
  readonly outcome: Awaited<ReturnType<typeof runStateMachine>>
  /** Task requests, in call order. */
  readonly calls: TaskRequest[]
  /** Node ids (Strato.Node) of the states entered, in order. */
  readonly nodes: string[]
  readonly elapsedMs: number
}

/** Compiles a Huawei body, validates its IR as the API does, and runs it on a fake-time host. */
export async function runFlow(
  body: JsonObject,
  input: JsonValue,
  functions: Record<string, FakeFunction>,
): Promise<Run> {
  const compiled = compileHuaweiWorkflow(body)
  const definition = validateDefinition(compiled.ir)
  const start = Date.UTC(2026, 0, 1)
  let clock = start
  const calls: TaskRequest[] = []
  const nodes: string[] = []
  const counts = new Map<string, number>()
  const host: ExecutionHost = {
    signal: new AbortController().signal,
    now: () => clock,
    enterState: (event) => {
      nodes.push(event.node.id)
      return Promise.resolve({ enteredAt: clock })
    },
    exitState: () => Promise.resolve(),
    // Fake time: a sleep ends at once and moves the clock (enough for sequential flows).
    sleepUntil: (_key, untilMs) => {
      clock = Math.max(clock, untilMs)
      return Promise.resolve()
    },
    runTask: (request): Promise<TaskOutcome> => {
      calls.push(request)
      const name = /:function:default:([^:]+):/.exec(request.resource)?.[1] ?? ''
      const fn = functions[name]
      if (fn === undefined) {
        throw new Error(`no fake function ${name}`)
      }
      const call = (counts.get(name) ?? 0) + 1
      counts.set(name, call)
      const result = fn(request.payload, call)
      const seconds = result.seconds ?? 0
      if (request.timeoutMs !== undefined && seconds * 1000 > request.timeoutMs) {
        clock += request.timeoutMs
        const cause = { errorMessage: 'the call timed out', errorType: 'States.Timeout' }
        return Promise.resolve({ ok: false, error: 'States.Timeout', cause: JSON.stringify(cause) })
      }
      clock += seconds * 1000
      if ('error' in result) {
        const cause =
          result.cause === undefined
            ? JSON.stringify({ errorMessage: result.message, errorType: result.error })
            : result.cause
        return Promise.resolve(
          cause === null
            ? { ok: false, error: result.error }
            : { ok: false, error: result.error, cause },
        )
      }
      return Promise.resolve({ ok: true, output: result.output })
    },
  }
  const outcome = await runStateMachine({
    definition,
    input,
    host,
    seed: 'seed',
    context: {
      executionId: 'exec-1',
      executionName: 'exec-1',
      startTime: new Date(start).toISOString(),
      stateMachineId: 'wf-1',
      stateMachineName: compiled.name,
      redriveCount: 0,
    },
  })
  return { outcome, calls, nodes, elapsedMs: clock - start }
}

export function flow(
  states: JsonObject[],
  extra: { functions?: string[]; retries?: JsonObject[]; constants?: JsonObject } = {},
): JsonObject {
  return {
    name: 'test-flow',
    start: states[0]?.['id'] ?? '',
    constants: extra.constants ?? {},
    retries: extra.retries ?? [],
    functions: (extra.functions ?? ['f', 'g', 'h']).map((name) => ({
      name,
      operation: urn(name),
    })),
    states,
  }
}

export function operation(id: string, fn: string, rest: JsonObject = {}): JsonObject {
  return {
    id,
    name: `${id}-name`,
    type: 'Operation',
    actions: [{ function_ref: { ref_name: fn } }],
    end: false,
    transition: '',
    ...rest,
  }
}

/** A field of an object payload (null when absent). */
export function field(payload: JsonValue, key: string): JsonValue {
  return (payload as JsonObject)[key] ?? null
}

export const endState = {
  id: 'End',
  name: 'End',
  type: 'End',
  end: true,
  transition: '',
  actions: [],
}
export const echo: FakeFunction = (payload) => ({ output: payload })
