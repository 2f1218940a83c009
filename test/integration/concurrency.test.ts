/**
 * Single-instance multi-concurrency (`strategy_config.concurrent_num`): one instance serves several
 * invocations at once (Node.js and HTTP functions); beyond that, requests wait or scale out.
 */
import { expect, test } from 'vitest'
import { httpFunction, inlineFunction, zipFiles } from '../helpers/code.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()
const { client } = strato

test('Node.js, concurrent_num 3 and one instance: three 600 ms calls overlap on it; a fourth waits its turn', async () => {
  await client.createFunction(
    inlineFunction(
      'overlap',
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 600)); return process.env.STRATO_INSTANCE_ID }',
      { strategy_config: { concurrency: 1, concurrent_num: 3 } },
    ),
  )
  await client.invoke('overlap', '{}') // warm
  const started = Date.now()
  const three = await Promise.all([1, 2, 3].map(() => client.invoke('overlap', '{}')))
  const took = Date.now() - started
  expect(new Set(three.map((r) => r.result)).size).toBe(1)
  expect(took).toBeLessThan(1100)
  const t4 = Date.now()
  const four = await Promise.all([1, 2, 3, 4].map(() => client.invoke('overlap', '{}')))
  expect(Date.now() - t4).toBeGreaterThanOrEqual(1150) // the fourth ran after one of the first three
  expect(four.every((r) => !r.isFunctionError)).toBe(true)
})

test('an HTTP function with concurrent_num 4 serves four slow requests at once on one instance', async () => {
  await client.createFunction(
    httpFunction(
      'http-overlap',
      await zipFiles({
        'app.js': `require('http').createServer((q, s) => setTimeout(() => s.end(process.env.STRATO_INSTANCE_ID || 'x'), 500)).listen(8000, '127.0.0.1')`,
        bootstrap: 'node $RUNTIME_CODE_ROOT/app.js',
      }),
      { strategy_config: { concurrency: 1, concurrent_num: 4 } },
    ),
  )
  await client.invoke('http-overlap', '{}')
  const started = Date.now()
  const results = await Promise.all(
    [1, 2, 3, 4].map(() => client.invoke('http-overlap', '{"path":"/"}')),
  )
  expect(Date.now() - started).toBeLessThan(1000)
  expect(results.every((r) => !r.isFunctionError)).toBe(true)
  const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
    instances: { idle: number; busy: number }
  }
  expect(info.instances.idle + info.instances.busy).toBeLessThanOrEqual(2)
})

test('a timeout with others in flight stops the instance: the late ones fail, the next call works', async () => {
  await client.createFunction(
    inlineFunction(
      'overlap-timeout',
      'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return "done" }',
      { timeout: 3, strategy_config: { concurrency: 1, concurrent_num: 2 } },
    ),
  )
  const [slow, quick] = await Promise.all([
    client.invoke('overlap-timeout', '{"ms":10000}'),
    client.invoke('overlap-timeout', '{"ms":100}'),
  ])
  expect(quick.result).toBe('done')
  expect(JSON.parse(slow.result).errorType).toBe('TimeoutError')
  expect((await client.invoke('overlap-timeout', '{"ms":1}')).result).toBe('done')
})
