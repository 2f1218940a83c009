/**
 * Snapshot start through the official SDK (issue 18): on a Java function, enabling it keeps an
 * initialised instance (JVM up, classes loaded, initializer run), so the call that would cold-start
 * does not; the state is reported, kept across a restart, and refused for other runtimes.
 */
import fs from 'node:fs'
import { expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, tmpDir, waitFor, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

const urn = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

function stateOf(
  s: TestStrato,
  name: string,
  action = 'state',
): Promise<{ state: string; code: string }> {
  return sdkClient(s.url).showFuncSnapshotState(
    new fg.ShowFuncSnapshotStateRequest().withFunctionUrn(urn(name)).withAction(action),
  )
}

async function idleInstances(s: TestStrato): Promise<number> {
  const info = (await (await fetch(`${s.url}/strato/info`)).json()) as {
    instances: { idle: number }
  }
  return info.instances.idle
}

async function timedInvoke(s: TestStrato, name: string): Promise<number> {
  const started = performance.now()
  const res = await s.client.invoke(name, '{"name":"snap"}')
  expect(res.result).toContain('Hello, snap!')
  return performance.now() - started
}

// No pre-started cells: a Java cell makes the twin's "cold" start a specialisation of a running JVM
// (about as fast as the kept instance's first call), and this test is about a start from nothing.
const NO_CELLS = { STRATO_STEM_CELLS: '0' }

test('a Java function with snapshot start answers its first call from the kept instance; a twin without cold-starts', async () => {
  const dataDir = tmpDir('strato-snap-')
  let strato = await startTestStrato(NO_CELLS, dataDir)
  try {
    const sdk = sdkClient(strato.url)
    await strato.client.createFunction({ func_name: 'snap', template_id: 'java-hello-world' })
    await strato.client.createFunction({ func_name: 'twin', template_id: 'java-hello-world' })
    expect(await stateOf(strato, 'snap')).toEqual(expect.objectContaining({ state: 'disabled' }))
    const enabled = await sdk.updateFuncSnapshot(
      new fg.UpdateFuncSnapshotRequest().withFunctionUrn(urn('snap')).withAction('enable'),
    )
    expect(enabled.httpStatusCode).toBe(204)
    expect(await stateOf(strato, 'snap', 'enableSnapshot')).toMatchObject({ state: 'true' })
    await waitFor(async () => (await stateOf(strato, 'snap')).state === 'ready', 30_000)
    await waitFor(async () => (await idleInstances(strato)) >= 1, 30_000)
    const fromSnapshot = await timedInvoke(strato, 'snap')
    const cold = await timedInvoke(strato, 'twin')
    // eslint-disable-next-line no-console -- the start time saved is worth seeing in the run
    console.log(
      `java first call: snapshot ${fromSnapshot.toFixed(1)} ms, cold start ${cold.toFixed(1)} ms`,
    )
    expect(fromSnapshot).toBeLessThan(cold)

    // Kept across a restart: the instance is back before any call.
    await strato.close()
    strato = await startTestStrato(NO_CELLS, dataDir)
    await waitFor(async () => (await stateOf(strato, 'snap')).state === 'ready', 30_000)
    await waitFor(async () => (await idleInstances(strato)) >= 1, 30_000)
    const afterRestart = await timedInvoke(strato, 'snap')
    const coldAgain = await timedInvoke(strato, 'twin')
    // eslint-disable-next-line no-console -- the start time saved is worth seeing in the run
    console.log(
      `after a restart: snapshot ${afterRestart.toFixed(1)} ms, cold start ${coldAgain.toFixed(1)} ms`,
    )
    expect(afterRestart).toBeLessThan(coldAgain)

    await sdkClient(strato.url).updateFuncSnapshot(
      new fg.UpdateFuncSnapshotRequest().withFunctionUrn(urn('snap')).withAction('disable'),
    )
    expect(await stateOf(strato, 'snap')).toMatchObject({ state: 'disabled' })
  } finally {
    await strato.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}, 120_000)

test('snapshot start is refused for a Node.js function, and for a bad action', async () => {
  const strato = await startTestStrato()
  try {
    await strato.client.createFunction(
      inlineFunction('node-snap', 'exports.handler = async () => 1'),
    )
    const sdk = sdkClient(strato.url)
    const node = await sdkError(
      sdk.updateFuncSnapshot(
        new fg.UpdateFuncSnapshotRequest().withFunctionUrn(urn('node-snap')).withAction('enable'),
      ),
    )
    expect([node.httpStatusCode, node.errorCode]).toEqual([400, 'FSS.0400'])
    expect(node.errorMsg).toContain('for Java functions')
    const bad = await sdkError(
      sdk.updateFuncSnapshot(
        new fg.UpdateFuncSnapshotRequest().withFunctionUrn(urn('node-snap')).withAction('pause'),
      ),
    )
    expect(bad.httpStatusCode).toBe(400)
  } finally {
    await strato.close()
  }
})
