/**
 * Quotas are FunctionGraph's by default and settable per deployment; each refusal has its FSS code.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { apiError } from '../helpers/sdk.js'
import { b64, inlineFunction, zipFiles } from '../helpers/code.js'

let strato: TestStrato

beforeAll(async () => {
  strato = await startTestStrato({
    STRATO_FUNCTIONS_PER_PROJECT: '3',
    STRATO_VERSIONS_PER_FUNCTION: '2',
    STRATO_ALIASES_PER_FUNCTION: '1',
    STRATO_CODE_PACKAGE_MAX_BYTES: '4096',
    // Counts zips and their unzipped files: one near-limit package takes about 8.5 KB.
    STRATO_CODE_TOTAL_MAX_BYTES: '12000',
  })
})
afterAll(async () => {
  await strato.close()
})

const src = (n: number) => `exports.handler = async () => ${n}`
const letters = (n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')
/** A zip of random (incompressible) text, sized by how much text goes in. */
const padded = (n: number, chars: number) =>
  zipFiles({ 'index.js': `${src(n)}\n// ${letters(chars)}` })

test('quotas: functions (FSS.1041), versions, aliases (FSS.1043), package and total code size (FSS.1071)', async () => {
  const c = strato.client
  await c.createFunction(inlineFunction('q1', src(1)))
  await c.createFunction(inlineFunction('q2', src(2)))
  const bigZip = await zipFiles({
    'index.js': `${src(3)}\n// ${'x'.repeat(8000).replace(/x/g, () => String.fromCharCode(97 + Math.floor(Math.random() * 26)))}`,
  })
  expect(bigZip.length).toBeGreaterThan(4096)
  const tooBig = await apiError(
    c.createFunction({
      ...inlineFunction('q3', ''),
      code_type: 'zip',
      func_code: { file: b64(bigZip) },
    }),
  )
  expect([tooBig.status, tooBig.errorCode]).toEqual([413, 'FSS.1071'])
  // Under the package limit, but a large share of the project's total.
  const nearLimit = await padded(3, 5000)
  expect(nearLimit.length).toBeGreaterThan(3000)
  expect(nearLimit.length).toBeLessThan(4096)
  await c.createFunction({
    ...inlineFunction('q3', ''),
    code_type: 'zip',
    func_code: { file: b64(nearLimit) },
  })
  const fourth = await apiError(c.createFunction(inlineFunction('q4', src(4))))
  expect([fourth.status, fourth.errorCode]).toEqual([403, 'FSS.1041'])

  // Versions: latest plus one.
  await c.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/q1/versions`,
    JSON.stringify({ version: 'v1' }),
  )
  await c.updateCode('q1', { code_type: 'inline', func_code: { file: b64(src(11)) } })
  const v2 = await c.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/q1/versions`,
    JSON.stringify({ version: 'v2' }),
  )
  expect(v2.status).toBe(403)
  expect(JSON.parse(v2.body.toString()).error_msg).toContain('the limit is 2 including latest')

  // Aliases: one.
  expect(
    (
      await c.raw(
        'POST',
        `/v2/${PROJECT_ID}/fgs/functions/q1/aliases`,
        JSON.stringify({ name: 'a', version: 'v1' }),
      )
    ).status,
  ).toBe(200)
  const second = await c.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/q1/aliases`,
    JSON.stringify({ name: 'b', version: 'latest' }),
  )
  expect([second.status, JSON.parse(second.body.toString()).error_code]).toEqual([403, 'FSS.1043'])

  // Total code: a second near-limit package would take the project past its total.
  const medium = await padded(5, 5000)
  const total = await apiError(
    c.updateCode('q2', { code_type: 'zip', func_code: { file: b64(medium) } }),
  )
  expect([total.status, total.errorCode]).toEqual([413, 'FSS.1071'])
  expect(total.message).toContain('the limit is 12000')

  const quotas = JSON.parse(
    (await c.raw('GET', `/v2/${PROJECT_ID}/fgs/quotas`)).body.toString(),
  ) as {
    quotas: { resources: Array<{ type: string; quota: number; used: number }> }
  }
  expect(quotas.quotas.resources.find((r) => r.type === 'fgs_func_num')).toMatchObject({
    quota: 3,
    used: 3,
  })
})
