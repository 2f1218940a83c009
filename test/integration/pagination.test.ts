/**
 * Every paged list reads `marker` and `maxitems`/`limit` with one parser: a bad or out-of-range
 * value is 400 FSS.1001 naming the parameter, never a 500 or a page at marker 1e20 (issue 12, 5).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { b64, inlineFunction, zipFiles } from '../helpers/code.js'

let strato: TestStrato
let client: StratoClient
let dependId = ''

const FN = `/v2/${PROJECT_ID}/fgs/functions/paged`

beforeAll(async () => {
  strato = await startTestStrato()
  client = strato.client
  await client.createFunction(inlineFunction('paged', 'exports.handler = async () => 1'))
  const dep = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/dependencies/version`,
    JSON.stringify({
      name: 'paged-dep',
      runtime: 'Node.js18.15',
      depend_type: 'zip',
      depend_file: b64(await zipFiles({ 'node_modules/x/index.js': 'module.exports = 1' })),
    }),
  )
  expect(dep.status).toBe(200)
  dependId = (JSON.parse(dep.body.toString()) as { dep_id: string }).dep_id
})
afterAll(async () => {
  await strato.close()
})

async function get(
  pathAndQuery: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await client.raw('GET', pathAndQuery)
  return { status: res.status, body: JSON.parse(res.body.toString()) as Record<string, unknown> }
}

const LISTS: ReadonlyArray<[string, () => string, 'maxitems' | 'limit']> = [
  ['functions', () => `/v2/${PROJECT_ID}/fgs/functions`, 'maxitems'],
  ['versions', () => `${FN}/versions`, 'maxitems'],
  ['test events', () => `${FN}/events`, 'maxitems'],
  ['dependencies', () => `/v2/${PROJECT_ID}/fgs/dependencies`, 'maxitems'],
  [
    'dependency versions',
    () => `/v2/${PROJECT_ID}/fgs/dependencies/${dependId}/version`,
    'maxitems',
  ],
  ['async invocations', () => `${FN}/async-invocations`, 'limit'],
  ['active async invocations', () => `${FN}/active-async-invocations`, 'limit'],
  ['async invoke configs', () => `${FN}/async-invoke-configs`, 'limit'],
  ['async dead letters', () => `${FN}/async-dead-letters`, 'limit'],
]

describe.each(LISTS)('list %s', (_name, pathOf, sizeParam) => {
  test.each(['99999999999999999999', '-1', '1e3', '0x10', '1.5', 'abc'])(
    'marker=%s is 400 FSS.1001 naming marker',
    async (marker) => {
      const res = await get(`${pathOf()}?marker=${encodeURIComponent(marker)}`)
      expect([res.status, res.body.error_code]).toEqual([400, 'FSS.1001'])
      expect(res.body.error_msg).toContain("'marker'")
    },
  )

  test(`a bad ${sizeParam} is 400 FSS.1001 naming it`, async () => {
    for (const bad of ['-1', '99999999999999999999', 'ten']) {
      const res = await get(`${pathOf()}?${sizeParam}=${bad}`)
      expect([res.status, res.body.error_code]).toEqual([400, 'FSS.1001'])
      expect(res.body.error_msg).toContain(`'${sizeParam}'`)
    }
  })

  test('the largest exact marker is an empty page, not an error', async () => {
    const res = await get(`${pathOf()}?marker=9007199254740991`)
    expect(res.status).toBe(200)
    expect(res.body.count).toEqual(expect.any(Number))
  })
})

test('limit lists refuse a limit of 0 or over their maximum; maxitems lists take 0 or more as the maximum', async () => {
  for (const limit of ['0', '501']) {
    const res = await get(`${FN}/async-invocations?limit=${limit}`)
    expect([res.status, res.body.error_code]).toEqual([400, 'FSS.1001'])
  }
  expect((await get(`${FN}/async-invoke-configs?limit=101`)).status).toBe(400)
  for (const maxitems of ['0', '100000']) {
    const res = await get(`/v2/${PROJECT_ID}/fgs/functions?maxitems=${maxitems}`)
    expect(res.status).toBe(200)
  }
})

test('logs: a bad limit is 400 FSS.1001 naming it', async () => {
  for (const limit of ['0', '501', '99999999999999999999']) {
    const res = await get(`${FN}/logs?limit=${limit}`)
    expect([res.status, res.body.error_code]).toEqual([400, 'FSS.1001'])
    expect(res.body.error_msg).toContain("'limit'")
  }
})

test('test events and dependency versions page with marker and maxitems', async () => {
  for (const name of ['ev-a', 'ev-b', 'ev-c']) {
    const res = await client.raw(
      'POST',
      `${FN}/events`,
      JSON.stringify({ name, content: b64('{}') }),
    )
    expect(res.status).toBe(200)
  }
  const page = await get(`${FN}/events?marker=1&maxitems=1`)
  expect(page.status).toBe(200)
  expect((page.body.events as Array<{ name: string }>).map((e) => e.name)).toEqual(['ev-b'])
  expect([page.body.next_marker, page.body.count]).toEqual([2, 3])
  const versions = await get(
    `/v2/${PROJECT_ID}/fgs/dependencies/${dependId}/version?marker=1&maxitems=1`,
  )
  expect(versions.status).toBe(200)
  expect([versions.body.dependencies, versions.body.next_marker, versions.body.count]).toEqual([
    [],
    1,
    1,
  ])
})
