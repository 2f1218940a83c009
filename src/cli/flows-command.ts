/**
 * @module `strato flows deploy|start|show|list|retry|stop`: function flows from the command line.
 * A flow is named by its name, id or URN; an execution by its id alone (the flow that has it is
 * looked up) or with `--workflow`.
 */
import fs from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command } from 'commander'
import { ApiError, type JsonObject, type StratoClient } from '../client/index.js'
import { UsageError, printJson, type CliContext } from './cli-context.js'
import { renderExecutionTree } from './execution-tree.js'
import { formatTable, text } from './format-table.js'
import { wholeNumberIn } from './parse-options.js'

const LIST_PAGE = 200
/** How often `start --wait` looks at the execution. */
const WAIT_POLL_MS = 250

function parseJsonObject(raw: string, what: string): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${what} must be a JSON object`)
  }
  return value as JsonObject
}

async function allWorkflows(client: StratoClient, name?: string): Promise<JsonObject[]> {
  const found: JsonObject[] = []
  for (let offset = 0; ; offset += LIST_PAGE) {
    const page = await client.listWorkflows({
      ...(name === undefined ? {} : { workflow_name: name }),
      limit: LIST_PAGE,
      offset,
    })
    const flows = (page.workflows as JsonObject[] | undefined) ?? []
    found.push(...flows)
    if (flows.length < LIST_PAGE) {
      return found
    }
  }
}

/** The flow a name, id or URN names; a usage error when none does. */
async function findWorkflow(client: StratoClient, ref: string): Promise<JsonObject> {
  const byName = ref.startsWith('urn:') ? ref.split(':')[6] : ref
  const candidates = await allWorkflows(client, byName)
  const exact = candidates.find((w) => w.name === ref || w.id === ref || w.workflow_urn === ref)
  if (exact !== undefined) {
    return exact
  }
  const byId = (await allWorkflows(client)).find((w) => w.id === ref)
  if (byId === undefined) {
    throw new UsageError(`no flow is named '${ref}' (name, id or URN)`)
  }
  return byId
}

const isNotFound = (err: unknown): boolean =>
  err instanceof ApiError && (err.errorCode === 'FGS.5003' || err.errorCode === 'FGS.5002')

/** The flow id and the execution (with node details) of an execution id. */
async function findExecution(
  client: StratoClient,
  executionId: string,
  workflow: string | undefined,
  full = false,
): Promise<{ workflowId: string; execution: JsonObject }> {
  const flows =
    workflow === undefined ? await allWorkflows(client) : [await findWorkflow(client, workflow)]
  for (const w of flows) {
    try {
      const workflowId = text(w.id)
      return { workflowId, execution: await client.showExecution(workflowId, executionId, full) }
    } catch (err) {
      if (!isNotFound(err)) {
        throw err
      }
    }
  }
  throw new UsageError(`no flow has an execution '${executionId}'`)
}

async function deploy(client: StratoClient, file: string): Promise<void> {
  let raw: string
  try {
    raw = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
  }
  const body = parseJsonObject(raw, file)
  if (typeof body.name !== 'string' || body.name === '') {
    throw new UsageError(
      `${file} has no 'name': the flow's name says which flow to create or update`,
    )
  }
  const existing = (await allWorkflows(client, body.name)).find((w) => w.name === body.name)
  if (existing === undefined) {
    const created = await client.createWorkflow(body)
    console.log(
      `created flow ${text(created.name)} (${text(created.workflow_urn)}, id ${text(created.id)})`,
    )
    return
  }
  const updated = await client.updateWorkflow(text(existing.id), body)
  console.log(
    `updated flow ${text(updated.name)} (${text(updated.workflow_urn)}, id ${text(updated.id)})`,
  )
}

interface StartOptions {
  input: string
  runId?: string
  wait?: boolean
  timeout: number
}

async function start(client: StratoClient, ref: string, o: StartOptions): Promise<void> {
  const input = parseJsonObject(o.input, '--input')
  const w = await findWorkflow(client, ref)
  const workflowId = text(w.id)
  const executionId = await client.startExecution(workflowId, input, o.runId)
  if (o.wait !== true) {
    console.log(executionId)
    return
  }
  const deadline = Date.now() + o.timeout * 1000
  for (;;) {
    const execution = await client.showExecution(workflowId, executionId)
    if (execution.status !== 'running' || Date.now() > deadline) {
      console.log(renderExecutionTree(execution))
      if (execution.status === 'running') {
        throw new UsageError(`the execution is still running after ${o.timeout} s`)
      }
      if (execution.status !== 'success') {
        process.exitCode = 1
      }
      return
    }
    await sleep(WAIT_POLL_MS)
  }
}

async function list(client: StratoClient, ref: string | undefined, json: boolean): Promise<void> {
  if (ref === undefined) {
    const flows = await allWorkflows(client)
    if (json) {
      printJson(flows)
      return
    }
    if (flows.length === 0) {
      console.log('no flows')
      return
    }
    console.log(
      formatTable(
        ['NAME', 'MODE', 'ID', 'UPDATED'],
        flows.map((w) => [text(w.name), text(w.mode), text(w.id), text(w.updated_time)]),
      ),
    )
    return
  }
  const w = await findWorkflow(client, ref)
  const page = await client.listExecutions(text(w.id), { limit: LIST_PAGE })
  if (json) {
    printJson(page)
    return
  }
  const executions = (page.executions as JsonObject[] | undefined) ?? []
  if (executions.length === 0) {
    console.log('no executions in the last 3 days')
    return
  }
  console.log(
    formatTable(
      ['EXECUTION', 'STATUS', 'BEGIN', 'END'],
      executions.map((e) => [
        text(e.execution_id),
        text(e.status),
        text(e.begin_time),
        text(e.end_time),
      ]),
    ),
  )
}

export function flowsCommand(ctx: CliContext): Command {
  const flows = new Command('flows').description(
    'deploy function flows, start them, and follow their executions',
  )
  flows
    .command('deploy')
    .description('create a flow from a JSON file (Huawei v2 body or {name, asl}), or update it')
    .argument('<file>', 'the flow definition (.json)')
    .action((file: string) => deploy(ctx.client(), file))
  flows
    .command('start')
    .description('start an execution and print its id (with --wait: wait and draw it)')
    .argument('<workflow>', 'flow name, id or URN')
    .option('-i, --input <json>', 'the execution input (a JSON object)', '{}')
    .option('--run-id <id>', 'choose the execution id (starting it again does not run it twice)')
    .option('-w, --wait', 'wait for the execution to end and draw it as `show` does')
    .option(
      '--timeout <seconds>',
      'how long --wait waits',
      wholeNumberIn(1, 86_400, 'seconds'),
      300,
    )
    .action((ref: string, o: StartOptions) => start(ctx.client(), ref, o))
  flows
    .command('show')
    .description('draw an execution as a tree of nodes, each with status and duration')
    .argument('<execution>', 'execution id')
    .option('--workflow <workflow>', 'the flow it belongs to (saves looking it up)')
    .option('--json', 'print the full API answer')
    .option('--full', 'untruncated inputs and outputs (with --json)')
    .action(async (id: string, o: { workflow?: string; json?: boolean; full?: boolean }) => {
      const { execution } = await findExecution(ctx.client(), id, o.workflow, o.full === true)
      if (o.json === true) {
        printJson(execution)
        return
      }
      console.log(renderExecutionTree(execution))
    })
  flows
    .command('list')
    .description("list flows, or a flow's executions of the last 3 days")
    .argument('[workflow]', 'flow name, id or URN')
    .option('--json', 'print the full API answer')
    .action((ref: string | undefined, o: { json?: boolean }) =>
      list(ctx.client(), ref, o.json === true),
    )
  executionAction(flows, ctx, 'retry', {
    description: 'run a failed execution again from where it failed (same execution id)',
    act: (client, workflowId, id) => client.retryExecution(workflowId, id),
    done: 'retrying',
  })
  executionAction(flows, ctx, 'stop', {
    description: 'stop a running execution',
    act: (client, workflowId, id) => client.stopExecution(workflowId, id),
    done: 'stopped',
  })
  return flows
}

/** A subcommand that does one thing to an execution named by its id (and maybe its flow). */
function executionAction(
  flows: Command,
  ctx: CliContext,
  name: string,
  action: {
    readonly description: string
    readonly act: (client: StratoClient, workflowId: string, id: string) => Promise<unknown>
    readonly done: string
  },
): void {
  flows
    .command(name)
    .description(action.description)
    .argument('<execution>', 'execution id')
    .option('--workflow <workflow>', 'the flow it belongs to')
    .action(async (id: string, o: { workflow?: string }) => {
      const client = ctx.client()
      const { workflowId } = await findExecution(client, id, o.workflow)
      await action.act(client, workflowId, id)
      console.log(`${action.done} ${id}`)
    })
}
