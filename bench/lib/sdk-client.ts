/**
 * Strato through the official Huawei Cloud SDK, as a FunctionGraph user drives it: a client with
 * the bench's keys, and the function calls bench/run.ts makes with it.
 */
import { createRequire } from 'node:module'
import type * as SdkCore from '@huaweicloud/huaweicloud-sdk-core'
import type * as SdkFg from '@huaweicloud/huaweicloud-sdk-functiongraph'
import type { ReportProblem } from './child-processes.js'
import { HELLO_HANDLER_SOURCE } from './bare-server.js'
import { describeError } from './report.js'
import { BENCH_ACCESS_KEY, BENCH_PROJECT_ID, BENCH_SECRET_KEY } from './signed-request.js'

const require = createRequire(import.meta.url)
const core = require('@huaweicloud/huaweicloud-sdk-core') as typeof SdkCore
export const fg = require('@huaweicloud/huaweicloud-sdk-functiongraph') as typeof SdkFg

export type SdkClient = InstanceType<typeof SdkFg.FunctionGraphClient>

export function sdkClient(endpoint: string): SdkClient {
  const cred = new core.BasicCredentials()
    .withAk(BENCH_ACCESS_KEY)
    .withSk(BENCH_SECRET_KEY)
    .withProjectId(BENCH_PROJECT_ID)
  return fg.FunctionGraphClient.newBuilder().withCredential(cred).withEndpoint(endpoint).build()
}

/** Creates a Node.js function with the hello handler (inline code); returns its URN. */
export async function createHelloFunction(client: SdkClient, name: string): Promise<string> {
  const res = await client.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName(name)
        .withPackage('default')
        .withRuntime('Node.js18.15')
        .withHandler('index.handler')
        .withMemorySize(128)
        .withTimeout(30)
        .withCodeType('inline')
        .withFuncCode(
          new fg.FuncCode().withFile(Buffer.from(HELLO_HANDLER_SOURCE).toString('base64')),
        ),
    ),
  )
  // The SDK hands back the JSON as received (snake_case), not an instance with getters.
  const raw = res as unknown as { func_urn?: string; funcUrn?: string }
  const urn = raw.func_urn ?? raw.funcUrn
  if (urn === undefined || urn === '') {
    throw new Error(`createFunction ${name}: no func_urn in the answer`)
  }
  return urn
}

/** Deletes a function; a failure is a problem, not the end of the run. */
export async function deleteFunction(
  client: SdkClient,
  urn: string,
  report: ReportProblem,
): Promise<void> {
  try {
    await client.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(urn))
  } catch (err) {
    report(`deleteFunction ${urn}: ${describeError(err)}`)
  }
}

/** Invokes through the SDK with the v1 envelope; returns whether the function answered 200. */
export async function sdkInvoke(client: SdkClient, urn: string): Promise<boolean> {
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCFFRequestVersion('v1')
      .withBody({ hello: 'world' } as unknown as Record<string, object>),
  )
  return res.httpStatusCode === 200 && res.status === 200 && (res.result ?? '').includes('hello')
}

/** Sets the function's max instances; returns the `strategy_config.concurrency` Strato reports. */
export async function setMaxInstances(
  client: SdkClient,
  urn: string,
  max: number,
): Promise<number | undefined> {
  const updated = await client.updateFunctionMaxInstanceConfig(
    new fg.UpdateFunctionMaxInstanceConfigRequest()
      .withFunctionUrn(urn)
      .withBody(new fg.UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(max)),
  )
  return (updated as unknown as { strategy_config?: { concurrency?: number } }).strategy_config
    ?.concurrency
}

/** Sets the hello function's max instances and concurrent_num through its config. */
export async function setConcurrency(
  client: SdkClient,
  urn: string,
  name: string,
  max: number,
  concurrentNum: number,
): Promise<void> {
  await client.updateFunctionConfig(
    new fg.UpdateFunctionConfigRequest()
      .withFunctionUrn(urn)
      .withBody(
        new fg.UpdateFunctionConfigRequestBody()
          .withFuncName(name)
          .withRuntime('Node.js18.15')
          .withHandler('index.handler')
          .withMemorySize(128)
          .withTimeout(30)
          .withStrategyConfig(
            new fg.StrategyConfig().withConcurrency(max).withConcurrentNum(concurrentNum),
          ),
      ),
  )
}
