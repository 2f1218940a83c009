/**
 * `PUT …/async-invoke-config` through the official SDK with fields left out: the SDK's model and
 * FunctionGraph's API mark every field optional (issue 12, compatibility).
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

let strato: TestStrato
let client: any

const urnOf = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

beforeAll(async () => {
  strato = await startTestStrato()
  client = sdkClient(strato.url)
  for (const name of ['cfg-target', 'cfg-sink']) {
    await strato.client.createFunction(inlineFunction(name, 'exports.handler = async () => 1'))
  }
})
afterAll(async () => {
  await strato.close()
})

const put = (body: unknown): Promise<any> =>
  client.updateFunctionAsyncInvokeConfig(
    new fg.UpdateFunctionAsyncInvokeConfigRequest()
      .withFunctionUrn(urnOf('cfg-target'))
      .withBody(body),
  )

test('async invoke config: max_async_event_age_in_seconds may be left out; missing fields keep their current or default values', async () => {
  // No config yet: what is left out takes the defaults (3600 s, 1 retry).
  const first = await put(
    new fg.UpdateFunctionAsyncInvokeConfigRequestBody().withMaxAsyncRetryAttempts(3),
  )
  expect(first).toMatchObject({
    max_async_event_age_in_seconds: 3600,
    max_async_retry_attempts: 3,
    enable_async_status_log: false,
  })
  const sink = JSON.stringify({ func_urn: urnOf('cfg-sink') })
  await put(
    new fg.UpdateFunctionAsyncInvokeConfigRequestBody()
      .withMaxAsyncEventAgeInSeconds(120)
      .withEnableAsyncStatusLog(true)
      .withDestinationConfig(
        new fg.FuncAsyncDestinationConfig().withOnFailure(
          new fg.FuncDestinationConfig().withDestination('FunctionGraph').withParam(sink),
        ),
      ),
  )
  // Only the retry count changes; the age, the status log flag and the destination stay.
  const second = await put(
    new fg.UpdateFunctionAsyncInvokeConfigRequestBody().withMaxAsyncRetryAttempts(0),
  )
  expect(second).toMatchObject({
    max_async_event_age_in_seconds: 120,
    max_async_retry_attempts: 0,
    enable_async_status_log: true,
    destination_config: { on_failure: { destination: 'FunctionGraph', param: sink } },
  })
  const shown = await client.showFunctionAsyncInvokeConfig(
    new fg.ShowFunctionAsyncInvokeConfigRequest().withFunctionUrn(urnOf('cfg-target')),
  )
  expect(shown).toMatchObject({ max_async_event_age_in_seconds: 120, max_async_retry_attempts: 0 })
  // An empty body changes nothing.
  expect(await put(new fg.UpdateFunctionAsyncInvokeConfigRequestBody())).toMatchObject({
    max_async_event_age_in_seconds: 120,
    max_async_retry_attempts: 0,
    enable_async_status_log: true,
  })
  // A destination_config given replaces both destinations; an empty one clears them.
  const cleared = await put({ destination_config: {} })
  expect(cleared.destination_config).toEqual({})
})
