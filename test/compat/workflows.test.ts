/**
 * Function flows through the official SDK (issue 17): all 15 workflow methods, and the issue's
 * flow — a condition, a loop over an array, a retry that succeeds on the third attempt, a parallel
 * branch, a wait, a timeout caught and routed to a fallback function — with its output, its
 * per-node details (request ids that match the functions' logs) and the workflow ids the
 * functions see in their context.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { PROJECT_ID } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()
const { client } = strato
let sdk: any

const urnOf = (name: string) => `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
const flowUrnOf = (name: string) => `urn:fss:local-1:${PROJECT_ID}:workflow:default:${name}:latest`

/** The functions the flows call: inline Node code. */
const FUNCTIONS: Record<string, string> = {
  // What a function sees of the flow it runs in.
  'wf-prepare': `exports.handler = async (event, context) => ({
    kind: event.kind, items: event.items,
    seen: { workflow: context.getWorkflowID(), run: context.getWorkflowRunID(), state: context.getWorkflowStateID() },
  })`,
  'wf-double': `exports.handler = async (event) => ({ x2: event.x * 2 })`,
  // Fails twice per run, then succeeds (a warm instance keeps the count; retries come in turn).
  'wf-flaky': `const calls = new Map()
  exports.handler = async (event, context) => {
    const run = context.getWorkflowRunID()
    const n = (calls.get(run) || 0) + 1
    calls.set(run, n)
    if (n < 3) throw new Error('flaky call ' + n)
    return { ...event, flakyCalls: n }
  }`,
  'wf-echo': `exports.handler = async (event) => ({ echoed: event })`,
  // A callback node's function: says which flow it runs in (its logs), then the flow waits.
  'wf-ask': `exports.handler = async (event, context) => {
    console.log('CTX ' + JSON.stringify({ workflow: context.getWorkflowID(), run: context.getWorkflowRunID(), state: context.getWorkflowStateID() }))
    return { asked: true }
  }`,
  'wf-slow': `exports.handler = async (event) => { await new Promise((r) => setTimeout(r, 4000)); return { slow: true } }`,
  'wf-fallback': `exports.handler = async (event) => ({ fallback: true, caught: event })`,
  // Fails the first call of each run: a retry of the run then succeeds.
  'wf-once': `const seen = new Set()
  exports.handler = async (event, context) => {
    const run = context.getWorkflowRunID()
    if (!seen.has(run)) { seen.add(run); throw new Error('first call of ' + run + ' fails') }
    return { ok: true, run }
  }`,
  'wf-counter': `let n = 0
  exports.handler = async (event) => ({ ...event, counted: ++n })`,
}

const fn = (name: string) => ({ name, operation: urnOf(name), metadata: {} })
const call = (ref: string, args?: Record<string, unknown>) => ({
  function_ref: { ref_name: ref, invoke_mode: 'synchronize', ...(args ? { arguments: args } : {}) },
})
const end = (id = 'done') => ({ id, name: id, type: 'End', end: true, transition: '', actions: [] })

/** A one-step flow calling `name` (then End). */
function simpleFlow(flowName: string, name: string, extra: Record<string, unknown> = {}) {
  return {
    name: flowName,
    start: 'step',
    functions: [fn(name)],
    constants: {},
    retries: [],
    states: [
      {
        id: 'step',
        name: 'step',
        type: 'Operation',
        end: false,
        transition: 'done',
        action_mode: 'sequential',
        actions: [call(name)],
      },
      end(),
    ],
    ...extra,
  }
}

/** The flow. */
const BIG_FLOW = {
  name: 'issue-17-flow',
  description: 'condition, loop, retry, parallel, wait, timeout and catch',
  mode: 'NORMAL',
  start: 'prepare',
  functions: ['wf-prepare', 'wf-double', 'wf-flaky', 'wf-echo', 'wf-slow', 'wf-fallback'].map(fn),
  constants: {},
  retries: [{ name: 'thrice', delay: 1, max_attempts: 3 }],
  states: [
    {
      id: 'prepare',
      name: 'Prepare',
      type: 'Operation',
      end: false,
      transition: 'route',
      actions: [call('wf-prepare')],
    },
    {
      id: 'route',
      name: 'Route',
      type: 'Switch',
      data_conditions: [{ condition: "$.kind == 'big'", transition: 'loop' }],
      default_condition: { transition: 'done' },
    },
    {
      id: 'loop',
      name: 'Double-each',
      type: 'Foreach',
      input_collection: '$.items',
      iteration_param: 'item',
      output_collection: '$.doubled',
      actions: [call('wf-double', { x: '$.item' })],
      transition: 'flaky',
    },
    {
      id: 'flaky',
      name: 'Flaky',
      type: 'Operation',
      end: false,
      transition: 'fan',
      actions: [call('wf-flaky')],
      on_errors: [{ error: '$.errorCode == 500', retry_ref: 'thrice' }],
    },
    {
      id: 'fan',
      name: 'Fan-out',
      type: 'Parallel',
      branches: [
        { actions: [call('wf-double', { x: '$.flakyCalls' })] },
        { actions: [call('wf-echo', { doubled: '$.doubled' })] },
      ],
      transition: 'nap',
    },
    {
      id: 'nap',
      name: 'Nap',
      type: 'Sleep',
      duration: 1,
      end: false,
      transition: 'guarded',
      actions: [],
    },
    {
      id: 'guarded',
      name: 'Guarded',
      type: 'Operation',
      timeout: 1,
      end: false,
      transition: 'done',
      actions: [call('wf-slow')],
      on_errors: [{ error: '$.errorCode == 500', transition: 'fallback' }],
    },
    {
      id: 'fallback',
      name: 'Fallback',
      type: 'Operation',
      end: false,
      transition: 'done',
      actions: [call('wf-fallback')],
    },
    end(),
  ],
}

const flowIds: Record<string, string> = {}

async function createFlow(body: Record<string, unknown>): Promise<any> {
  const res = await sdk.createWorkflow(new fg.CreateWorkflowRequest().withBody(body))
  flowIds[String(body.name)] = res.id
  return res
}

async function start(flowName: string, input: Record<string, unknown>, runId?: string) {
  let req = new fg.StartWorkflowExecutionRequest()
    .withWorkflowId(flowIds[flowName])
    .withBody({ input, headers: { 'x-test': flowName } })
  if (runId !== undefined) {
    req = req.withXWorkflowRunID(runId)
  }
  return (await sdk.startWorkflowExecution(req)).execution_id as string
}

function show(flowName: string, executionId: string, full = false): Promise<any> {
  return sdk.showWorkflowExecution(
    new fg.ShowWorkflowExecutionRequest()
      .withWorkflowId(flowIds[flowName])
      .withExecutionId(executionId)
      .withXGetWorkflowFullHistoryData(full ? 'true' : 'false'),
  )
}

/** Polls the execution until `done` holds for it (30 s at most). */
async function waitFor(
  flowName: string,
  executionId: string,
  done: (e: any) => boolean = (e) => e.status !== 'running',
): Promise<any> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const e = await show(flowName, executionId)
    if (done(e) || Date.now() > deadline) {
      return e
    }
    await sleep(100)
  }
}

const nodeOf = (execution: any, id: string) =>
  (execution.node_execution_details as any[]).find((n) => n.node_id === id)

beforeAll(async () => {
  sdk = sdkClient(strato.url)
  await Promise.all(
    Object.entries(FUNCTIONS).map(([name, source]) =>
      client.createFunction(inlineFunction(name, source, { timeout: 10 })),
    ),
  )
})

describe('workflows: management through the SDK', () => {
  test('createWorkflow answers 201 with the workflow; a second one of the name is FGS.3004', async () => {
    const created = await createFlow(simpleFlow('mgmt-a', 'wf-echo', { description: 'first' }))
    expect(created.httpStatusCode).toBe(201)
    expect(created).toMatchObject({
      name: 'mgmt-a',
      description: 'first',
      workflow_urn: flowUrnOf('mgmt-a'),
      enable_stream_response: false,
    })
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const again = await sdkError(
      sdk.createWorkflow(new fg.CreateWorkflowRequest().withBody(simpleFlow('mgmt-a', 'wf-echo'))),
    )
    expect([again.httpStatusCode, again.errorCode]).toEqual([409, 'FGS.3004'])
  })

  test('a flow calling a function the project lacks, or with a bad transition, is refused', async () => {
    const missing = await sdkError(
      sdk.createWorkflow(new fg.CreateWorkflowRequest().withBody(simpleFlow('bad-1', 'nope'))),
    )
    expect(missing.httpStatusCode).toBe(404)
    expect(missing.errorMsg).toContain('nope')
    const body = simpleFlow('bad-2', 'wf-echo')
    ;(body.states[0] as Record<string, unknown>).transition = 'nowhere'
    const bad = await sdkError(sdk.createWorkflow(new fg.CreateWorkflowRequest().withBody(body)))
    expect([bad.httpStatusCode, bad.errorCode]).toEqual([400, 'FGS.3002'])
    expect(bad.errorMsg).toContain('nowhere')
  })

  test('listWorkflow filters by name and pages with limit and offset', async () => {
    await createFlow(simpleFlow('mgmt-b', 'wf-echo'))
    const all = await sdk.listWorkflow(new fg.ListWorkflowRequest().withWorkflowName('mgmt-'))
    expect(all.workflows.map((w: any) => w.name).sort()).toEqual(['mgmt-a', 'mgmt-b'])
    expect([all.total, all.size]).toEqual([2, 2])
    const page = await sdk.listWorkflow(
      new fg.ListWorkflowRequest().withWorkflowName('mgmt-').withLimit(1).withOffset(1),
    )
    expect([page.total, page.size, page.workflows.length]).toEqual([2, 1, 1])
    const bad = await sdkError(sdk.listWorkflow(new fg.ListWorkflowRequest().withLimit(201)))
    expect([bad.httpStatusCode, bad.errorCode]).toEqual([400, 'FGS.3002'])
  })

  test('showWorkFlow returns the definition as sent; a missing id is 404 FGS.5002 with request_id', async () => {
    const body = simpleFlow('mgmt-a', 'wf-echo', { description: 'first' })
    const shown = await sdk.showWorkFlow(
      new fg.ShowWorkFlowRequest().withWorkflowId(flowIds['mgmt-a']),
    )
    expect(shown).toMatchObject({ id: flowIds['mgmt-a'], workflow_urn: flowUrnOf('mgmt-a') })
    expect(shown.definition).toEqual(body)
    const missing = await sdkError(
      sdk.showWorkFlow(new fg.ShowWorkFlowRequest().withWorkflowId('no-such-flow')),
    )
    expect([missing.httpStatusCode, missing.errorCode]).toEqual([404, 'FGS.5002'])
    const raw = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/workflows/no-such-flow`)
    const answer = JSON.parse(raw.body.toString('utf8'))
    expect(answer.request_id).toBe(raw.headers.get('x-request-id'))
  })

  test('updateWorkFlow replaces the definition; renaming onto another flow is FGS.3004', async () => {
    const id = flowIds['mgmt-b']
    const updated = await sdk.updateWorkFlow(
      new fg.UpdateWorkFlowRequest()
        .withWorkflowId(id)
        .withBody(simpleFlow('mgmt-b', 'wf-counter', { description: 'second' })),
    )
    expect(updated).toMatchObject({ id, name: 'mgmt-b', description: 'second' })
    const shown = await sdk.showWorkFlow(new fg.ShowWorkFlowRequest().withWorkflowId(id))
    expect(shown.definition.functions[0].name).toBe('wf-counter')
    const clash = await sdkError(
      sdk.updateWorkFlow(
        new fg.UpdateWorkFlowRequest().withWorkflowId(id).withBody(simpleFlow('mgmt-a', 'wf-echo')),
      ),
    )
    expect([clash.httpStatusCode, clash.errorCode]).toEqual([409, 'FGS.3004'])
  })

  test('batchDeleteWorkflows deletes what exists and reports what does not', async () => {
    await createFlow(simpleFlow('mgmt-c', 'wf-echo'))
    const res = await sdk.batchDeleteWorkflows(
      new fg.BatchDeleteWorkflowsRequest().withBody({
        workflow_urns: [flowUrnOf('mgmt-c'), flowUrnOf('never-was')],
      }),
    )
    expect(res.success).toEqual([flowUrnOf('mgmt-c')])
    expect(res.fail).toEqual([
      { workflow_urn: flowUrnOf('never-was'), error_detail: expect.any(String) },
    ])
    const gone = await sdkError(
      sdk.showWorkFlow(new fg.ShowWorkFlowRequest().withWorkflowId(flowIds['mgmt-c'])),
    )
    expect(gone.errorCode).toBe('FGS.5002')
  })

  test('flow management calls are in the audit trail', async () => {
    let names: string[][] = []
    const deadline = Date.now() + 10_000
    while (names.length < 2 && Date.now() < deadline) {
      const page = await client.listTraces({ resource_name: 'mgmt-c', limit: '50' })
      names = ((page.traces as any[] | undefined) ?? [])
        .reverse()
        .map((t) => [t.trace_name, t.resource_type, t.code])
      await sleep(100)
    }
    expect(names).toEqual([
      ['createWorkflow', 'workflow', '201'],
      ['batchDeleteWorkflows', 'workflow', '200'],
    ])
  })

  test('the fgs_workflow_num quota counts the project flows', async () => {
    const quotas = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/quotas`)
    const resources = JSON.parse(quotas.body.toString('utf8')).quotas.resources as any[]
    const flows = await sdk.listWorkflow(new fg.ListWorkflowRequest())
    expect(resources.find((r) => r.type === 'fgs_workflow_num')).toEqual({
      type: 'fgs_workflow_num',
      quota: 200,
      used: flows.total,
    })
  })
})

describe("workflows: the issue's flow", () => {
  let executionId = ''
  let execution: any

  beforeAll(async () => {
    await createFlow(BIG_FLOW)
    executionId = await start('issue-17-flow', { kind: 'big', items: [1, 2, 3] })
    execution = await waitFor('issue-17-flow', executionId)
  }, 60_000)

  test('it succeeds with the fallback output: the timeout was caught and routed', () => {
    expect(execution.status).toBe('success')
    expect(execution.output).toMatchObject({ fallback: true, caught: { errorCode: 500 } })
    expect(JSON.stringify(execution.output.caught)).toContain('Timeout')
    expect(execution.input).toEqual({ kind: 'big', items: [1, 2, 3] })
    expect(execution.headers).toEqual({ 'x-test': 'issue-17-flow' })
    expect(execution.begin_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  test('the functions see the workflow id, the run id and their state id', () => {
    const prepare = nodeOf(execution, 'prepare')
    expect(prepare.executions[0].output.seen).toEqual({
      workflow: flowIds['issue-17-flow'],
      run: executionId,
      state: 'prepare',
    })
  })

  test('node details: every node, with condition, loop, retries, branches, wait and timeout', () => {
    const ids = (execution.node_execution_details as any[]).map((n) => n.node_id)
    for (const id of ['prepare', 'route', 'loop', 'flaky', 'fan', 'nap', 'guarded', 'fallback']) {
      expect(ids).toContain(id)
    }
    expect(nodeOf(execution, 'prepare').node_name).toBe('Prepare')
    for (const n of execution.node_execution_details) {
      expect(n.execution_id).toBe(executionId)
    }
    // The retry succeeded on the third attempt.
    const flaky = nodeOf(execution, 'flaky').executions
    expect(flaky.map((e: any) => e.status)).toEqual(['fail', 'fail', 'success'])
    expect(flaky[0].error_message).toContain('flaky call 1')
    expect(flaky[2].output.flakyCalls).toBe(3)
    expect(new Set(flaky.map((e: any) => e.request_id)).size).toBe(3)
    // The retry waited its delay (1 s) between attempts.
    expect(flaky[1].begin_time - flaky[0].end_time).toBeGreaterThanOrEqual(900)
    // The loop doubled each item.
    const doubled = nodeOf(execution, 'flaky').executions[2].output.doubled
    expect(doubled).toEqual([{ x2: 2 }, { x2: 4 }, { x2: 6 }])
    // The parallel branches each ran their function on the retried node's output.
    const fan = nodeOf(execution, 'fan').executions
    expect(fan.map((e: any) => [e.status, e.output])).toEqual([
      ['success', { x2: 6 }],
      ['success', { echoed: { doubled } }],
    ])
    expect(nodeOf(execution, 'route').executions.map((e: any) => e.status)).toEqual(['success'])
    // The wait lasted its second.
    const nap = nodeOf(execution, 'nap').executions[0]
    expect(nap.status).toBe('success')
    expect(nap.end_time - nap.begin_time).toBeGreaterThanOrEqual(1000)
    // The timeout: the guarded call timed out after ~1 s of its 4.
    const guarded = nodeOf(execution, 'guarded').executions[0]
    expect(guarded.status).toBe('timeout')
    expect(guarded.end_time - guarded.begin_time).toBeLessThan(3000)
    expect(nodeOf(execution, 'fallback').executions[0].status).toBe('success')
    // Node times are epoch milliseconds.
    expect(Number.isInteger(nap.begin_time)).toBe(true)
    expect(nap.begin_time).toBeGreaterThan(Date.parse(execution.begin_time) - 1000)
  })

  test("the condition's default path skips the work: only prepare, route and done ran", async () => {
    const id = await start('issue-17-flow', { kind: 'small', items: [] })
    const small = await waitFor('issue-17-flow', id)
    expect(small.status).toBe('success')
    expect(small.node_execution_details.map((n: any) => n.node_id)).toEqual([
      'prepare',
      'route',
      'done',
    ])
    expect(small.output).toMatchObject({ kind: 'small', items: [] })
  })

  test('each function attempt names its request id, and the function logs have it', async () => {
    const byNode: Record<string, string> = {
      prepare: 'wf-prepare',
      flaky: 'wf-flaky',
      guarded: 'wf-slow',
      fallback: 'wf-fallback',
    }
    for (const [node, name] of Object.entries(byNode)) {
      for (const attempt of nodeOf(execution, node).executions) {
        expect(attempt.request_id).toMatch(/^[0-9a-f-]{36}$/)
        const deadline = Date.now() + 10_000
        let logged: any[] = []
        while (logged.length === 0 && Date.now() < deadline) {
          const res = await client.logs(name, { request_id: attempt.request_id })
          logged = (res.logs as any[] | undefined) ?? []
          if (logged.length === 0) {
            await sleep(200)
          }
        }
        expect(logged.map((l) => l.request_id)).toContain(attempt.request_id)
      }
    }
  })
})

describe('workflows: executions through the SDK', () => {
  beforeAll(async () => {
    await createFlow(simpleFlow('exec-once', 'wf-once'))
    await createFlow(simpleFlow('exec-echo', 'wf-echo'))
    await createFlow(simpleFlow('exec-express', 'wf-echo', { mode: 'EXPRESS' }))
    await createFlow(simpleFlow('exec-express-fail', 'wf-once', { mode: 'EXPRESS' }))
    await createFlow({
      ...simpleFlow('exec-sleepy', 'wf-echo'),
      start: 'nap',
      states: [
        {
          id: 'nap',
          name: 'nap',
          type: 'Sleep',
          duration: 60,
          end: false,
          transition: 'step',
          actions: [],
        },
        ...simpleFlow('exec-sleepy', 'wf-echo').states,
      ],
    })
    await createFlow({
      ...simpleFlow('exec-callback', 'wf-ask'),
      states: [
        {
          id: 'step',
          name: 'ask',
          type: 'Operation',
          end: false,
          transition: 'done',
          actions: [{ function_ref: { ref_name: 'wf-ask', invoke_mode: 'async', arguments: {} } }],
        },
        end(),
      ],
    })
  }, 30_000)

  test('startWorkflowExecution with X-WorkflowRun-ID runs once however often it is sent', async () => {
    const runId = `run-${Date.now()}`
    const first = await start('exec-once', { n: 1 }, runId)
    const second = await start('exec-once', { n: 1 }, runId)
    expect([first, second]).toEqual([runId, runId])
    const e = await waitFor('exec-once', runId)
    expect(e.status).toBe('fail')
    expect(nodeOf(e, 'step').executions).toHaveLength(1)
  })

  test('retryWorkFlow reruns a failed execution from the failed node, keeping its id', async () => {
    const id = await start('exec-once', { n: 2 })
    const failed = await waitFor('exec-once', id)
    expect(failed.status).toBe('fail')
    expect(nodeOf(failed, 'step').executions[0].error_message).toContain('first call')
    await sdk.retryWorkFlow(
      new fg.RetryWorkFlowRequest().withWorkflowId(flowIds['exec-once']).withExecutionId(id),
    )
    const retried = await waitFor('exec-once', id, (e) => e.status === 'success')
    expect(retried.status).toBe('success')
    expect(retried.output).toEqual({ ok: true, run: id })
    expect(nodeOf(retried, 'step').executions.map((e: any) => e.status)).toEqual([
      'fail',
      'success',
    ])
    const again = await sdkError(
      sdk.retryWorkFlow(
        new fg.RetryWorkFlowRequest().withWorkflowId(flowIds['exec-once']).withExecutionId(id),
      ),
    )
    expect([again.httpStatusCode, again.errorCode]).toEqual([400, 'FGS.3003'])
  })

  test('startSyncWorkflowExecution runs an EXPRESS flow to its end; a NORMAL one is FGS.3003', async () => {
    const res = await sdk.startSyncWorkflowExecution(
      new fg.StartSyncWorkflowExecutionRequest()
        .withWorkflowId(flowIds['exec-express'])
        .withBody({ input: { hello: 'flow' } }),
    )
    expect(res).toMatchObject({ status: 'success', output: { echoed: { hello: 'flow' } } })
    expect(res.execution_id).toEqual(expect.any(String))
    expect(res.begin_time).toMatch(/Z$/)
    const failed = await sdk.startSyncWorkflowExecution(
      new fg.StartSyncWorkflowExecutionRequest()
        .withWorkflowId(flowIds['exec-express-fail'])
        .withBody({ input: {} }),
    )
    expect(failed.status).toBe('fail')
    expect(failed.output).toBeUndefined()
    expect(failed.errors).toEqual([
      {
        node_id: 'step',
        error_message: expect.stringContaining('first call'),
        begin_time: expect.stringMatching(/Z$/),
        end_time: expect.stringMatching(/Z$/),
      },
    ])
    const normal = await sdkError(
      sdk.startSyncWorkflowExecution(
        new fg.StartSyncWorkflowExecutionRequest()
          .withWorkflowId(flowIds['exec-once'])
          .withBody({ input: {} }),
      ),
    )
    expect([normal.httpStatusCode, normal.errorCode]).toEqual([400, 'FGS.3003'])
  })

  test('stopWorkFlow cancels a running execution; stopping it again is FGS.3003', async () => {
    const id = await start('exec-sleepy', {})
    const waiting = await waitFor('exec-sleepy', id, (e) => nodeOf(e, 'nap') !== undefined)
    expect(waiting.status).toBe('running')
    expect(nodeOf(waiting, 'nap').executions[0].status).toBe('running')
    await sdk.stopWorkFlow(
      new fg.StopWorkFlowRequest().withWorkflowId(flowIds['exec-sleepy']).withExecutionId(id),
    )
    const stopped = await waitFor('exec-sleepy', id)
    expect(stopped.status).toBe('cancel')
    expect(nodeOf(stopped, 'nap').executions[0].status).toBe('cancel')
    expect(nodeOf(stopped, 'step')).toBeUndefined()
    const again = await sdkError(
      sdk.stopWorkFlow(
        new fg.StopWorkFlowRequest().withWorkflowId(flowIds['exec-sleepy']).withExecutionId(id),
      ),
    )
    expect(again.errorCode).toBe('FGS.3003')
  })

  test('createCallbackWorkflow completes a node waiting for an external result', async () => {
    const id = await start('exec-callback', { q: 1 })
    const waiting = await waitFor(
      'exec-callback',
      id,
      (e) => nodeOf(e, 'step')?.executions[0]?.status === 'running',
    )
    expect(waiting.status).toBe('running')
    // The function was invoked through the async queue, as any async call: its async records
    // have the node's request id, and it saw the flow it runs in.
    const requestId = nodeOf(waiting, 'step').executions[0].request_id as string
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    let record: any
    const deadline = Date.now() + 20_000
    while (record?.status !== 'SUCCESS' && Date.now() < deadline) {
      const page = await sdk.listAsyncInvocations(
        new fg.ListAsyncInvocationsRequest()
          .withFunctionUrn(urnOf('wf-ask'))
          .withRequestId(requestId),
      )
      record = page.invocations?.[0]
      if (record?.status !== 'SUCCESS') {
        await sleep(200)
      }
    }
    expect(record).toMatchObject({ request_id: requestId, status: 'SUCCESS' })
    let seen: any
    while (seen === undefined && Date.now() < deadline) {
      const res = await client.logs('wf-ask', { request_id: requestId })
      const line = ((res.logs as Array<{ log: string }> | undefined) ?? [])
        .flatMap((l) => l.log.split('\n'))
        .find((l) => l.includes('CTX '))
      seen = line === undefined ? undefined : JSON.parse(line.slice(line.indexOf('CTX ') + 4))
      if (seen === undefined) {
        await sleep(200)
      }
    }
    expect(seen).toEqual({ workflow: flowIds['exec-callback'], run: id, state: 'step' })
    const res = await sdk.createCallbackWorkflow(
      new fg.CreateCallbackWorkflowRequest()
        .withWorkflowId(flowIds['exec-callback'])
        .withXWorkflowRunId(id)
        .withXWorkflowStateId('step')
        .withBody({ result: 'success', output: { answer: 42 } }),
    )
    expect(res.execution_id).toBe(id)
    const done = await waitFor('exec-callback', id)
    expect(done.status).toBe('success')
    expect(done.output).toEqual({ answer: 42 })
    const unknownRun = await sdkError(
      sdk.createCallbackWorkflow(
        new fg.CreateCallbackWorkflowRequest()
          .withWorkflowId(flowIds['exec-callback'])
          .withXWorkflowRunId('no-such-run')
          .withXWorkflowStateId('step')
          .withBody({ result: 'success', output: {} }),
      ),
    )
    expect([unknownRun.httpStatusCode, unknownRun.errorCode]).toEqual([404, 'FGS.5003'])
  })

  test('an ASL definition ({name, asl}) is created and run by the same API', async () => {
    const asl = {
      StartAt: 'Double',
      States: {
        Double: {
          Type: 'Task',
          Resource: urnOf('wf-double'),
          Parameters: { 'x.$': '$.n' },
          ResultPath: '$.result',
          Next: 'Big?',
        },
        'Big?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.result.x2', NumericGreaterThan: 10, Next: 'Big' }],
          Default: 'Small',
        },
        Big: { Type: 'Pass', Result: 'big', ResultPath: '$.size', End: true },
        Small: { Type: 'Pass', Result: 'small', ResultPath: '$.size', End: true },
      },
    }
    const created = await createFlow({ name: 'exec-asl', asl })
    const shown = await sdk.showWorkFlow(new fg.ShowWorkFlowRequest().withWorkflowId(created.id))
    expect(shown.definition).toEqual({ name: 'exec-asl', asl })
    const id = await start('exec-asl', { n: 7 })
    const done = await waitFor('exec-asl', id)
    expect(done.status).toBe('success')
    expect(done.output).toEqual({ n: 7, result: { x2: 14 }, size: 'big' })
    expect(done.node_execution_details.map((n: any) => n.node_id)).toEqual([
      'Double',
      'Big?',
      'Big',
    ])
    const badAsl = await sdkError(
      sdk.createWorkflow(
        new fg.CreateWorkflowRequest().withBody({
          name: 'exec-asl-bad',
          asl: { StartAt: 'Nowhere', States: { A: { Type: 'Pass', End: true } } },
        }),
      ),
    )
    expect([badAsl.httpStatusCode, badAsl.errorCode]).toEqual([400, 'FGS.3002'])
    expect(badAsl.errorMsg).toContain('Nowhere')
  })

  test('listWorkflowExecutions lists the last 3 days, filtered by status', async () => {
    const all = await sdk.listWorkflowExecutions(
      new fg.ListWorkflowExecutionsRequest().withWorkflowId(flowIds['exec-once']),
    )
    expect(all.executions.length).toBeGreaterThanOrEqual(2)
    for (const e of all.executions) {
      expect(e).toMatchObject({
        workflow_id: flowIds['exec-once'],
        workflow_urn: flowUrnOf('exec-once'),
        execution_id: expect.any(String),
      })
    }
    const succeeded = await sdk.listWorkflowExecutions(
      new fg.ListWorkflowExecutionsRequest()
        .withWorkflowId(flowIds['exec-once'])
        .withStatus('success'),
    )
    expect(succeeded.executions.length).toBeGreaterThanOrEqual(1)
    expect(succeeded.executions.every((e: any) => e.status === 'success')).toBe(true)
    expect(succeeded.executions.length).toBeLessThan(all.executions.length)
    const old = await sdk.listWorkflowExecutions(
      new fg.ListWorkflowExecutionsRequest()
        .withWorkflowId(flowIds['exec-once'])
        .withStartTime('2020-01-01 00:00:00')
        .withEndTime('2020-01-02 00:00:00'),
    )
    expect(old.executions).toEqual([])
  })

  test('showWorkflowExecutionForPage pages the history with total and size', async () => {
    const page = await sdk.showWorkflowExecutionForPage(
      new fg.ShowWorkflowExecutionForPageRequest()
        .withWorkflowId(flowIds['exec-once'])
        .withOffset(0)
        .withLimit(1),
    )
    expect(page.size).toBe(1)
    expect(page.total).toBeGreaterThanOrEqual(2)
    expect(page.executions[0].workflow_id).toBe(flowIds['exec-once'])
    const bad = await sdkError(
      sdk.showWorkflowExecutionForPage(
        new fg.ShowWorkflowExecutionForPageRequest()
          .withWorkflowId(flowIds['exec-once'])
          .withOffset(0)
          .withLimit(101),
      ),
    )
    expect(bad.errorCode).toBe('FGS.3002')
  })

  test('showWorkflowExecution cuts large data unless the full history is asked for', async () => {
    const big = 'x'.repeat(10_000)
    const id = await start('exec-echo', { big })
    const cut = await waitFor('exec-echo', id)
    const step = nodeOf(cut, 'step').executions[0]
    expect(typeof step.output).toBe('string')
    expect(step.output).toMatch(/…\(truncated\)$/)
    const full = await show('exec-echo', id, true)
    expect(nodeOf(full, 'step').executions[0].output).toEqual({ echoed: { big } })
  })

  test('showTenantMetric and showWorkFlowMetric count the executions', async () => {
    const sum = (series: any[]) => series.reduce((n, p) => n + p.value, 0)
    const tenant = await sdk.showTenantMetric(new fg.ShowTenantMetricRequest().withPeriod('60'))
    expect(
      Object.keys(tenant)
        .filter((k) => Array.isArray(tenant[k]))
        .sort(),
    ).toEqual(['count', 'duration', 'fail_count', 'running_count'])
    const listed = await sdk.listWorkflowExecutions(
      new fg.ListWorkflowExecutionsRequest().withWorkflowId(flowIds['exec-once']),
    )
    const flow = await sdk.showWorkFlowMetric(
      new fg.ShowWorkFlowMetricRequest().withWorkflowUrn(flowUrnOf('exec-once')).withPeriod('60'),
    )
    expect(sum(flow.count)).toBe(listed.executions.length)
    expect(sum(tenant.count)).toBeGreaterThan(sum(flow.count))
    expect(flow.count[0]).toEqual({ timestamp: expect.any(Number), value: expect.any(Number) })
  })
})

describe('workflows: the quota', () => {
  test('creating past fgs_workflow_num (200) is FGS.3005, also for creates sent at once', async () => {
    const have = (await sdk.listWorkflow(new fg.ListWorkflowRequest())).total as number
    for (let i = have; i < 190; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, 190 - i) }, (_, k) =>
          client.createWorkflow(simpleFlow(`quota-${i + k}`, 'wf-echo')),
        ),
      )
    }
    const burst = await Promise.allSettled(
      Array.from({ length: 25 }, (_, k) =>
        client.createWorkflow(simpleFlow(`quota-burst-${k}`, 'wf-echo')),
      ),
    )
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(10)
    const over = await sdkError(
      sdk.createWorkflow(new fg.CreateWorkflowRequest().withBody(simpleFlow('quota-x', 'wf-echo'))),
    )
    expect([over.httpStatusCode, over.errorCode]).toEqual([400, 'FGS.3005'])
    const listed = await sdk.listWorkflow(new fg.ListWorkflowRequest())
    expect([listed.total, listed.size]).toEqual([200, 200])
  })
})
