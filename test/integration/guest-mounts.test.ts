/**
 * A sandbox shows only what its guest runs: the family's own folders of `runtimes/` (and the
 * shared `common/` where the guest uses it) under /opt/function/runtime/strato, never another
 * family's guest nor Strato's host-side code.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { httpFunction, inlineFunction, zipFiles } from '../helpers/code.js'
import { startTestStrato, type TestStrato } from '../helpers/strato.js'

let strato: TestStrato
let client: StratoClient

beforeAll(async () => {
  strato = await startTestStrato()
  client = strato.client
})
afterAll(async () => {
  await strato.close()
})

const GUEST_DIR = '/opt/function/runtime/strato'

test('a Node.js instance sees only the node and common guest folders', async () => {
  await client.createFunction(
    inlineFunction(
      'mounts-node',
      `exports.handler = async () => require('fs').readdirSync('${GUEST_DIR}').sort()`,
      { runtime: 'Node.js20.15' },
    ),
  )
  const res = await client.invoke('mounts-node', '{}')
  expect(res.isFunctionError).toBe(false)
  expect(JSON.parse(res.result)).toEqual(['common', 'node'])
})

test('a Python instance sees only the python guest folder', async () => {
  await client.createFunction(
    inlineFunction(
      'mounts-python',
      `import os\ndef handler(event, context):\n    return sorted(os.listdir('${GUEST_DIR}'))\n`,
      { runtime: 'Python3.10' },
    ),
  )
  const res = await client.invoke('mounts-python', '{}')
  expect(res.isFunctionError).toBe(false)
  expect(JSON.parse(res.result)).toEqual(['python'])
})

test('a PHP instance sees only the php guest folder', async () => {
  await client.createFunction(
    inlineFunction(
      'mounts-php',
      `<?php function handler($e, $c) { $d = scandir('${GUEST_DIR}'); return array_values(array_diff($d, ['.', '..'])); }`,
      { runtime: 'PHP8.3' },
    ),
  )
  const res = await client.invoke('mounts-php', '{}')
  expect(res.isFunctionError).toBe(false)
  expect(JSON.parse(res.result)).toEqual(['php'])
})

test('an HTTP function instance sees only the http and common guest folders', async () => {
  const zip = await zipFiles({
    'app.js': `require('http').createServer((q, s) => s.end(JSON.stringify(require('fs').readdirSync('${GUEST_DIR}').sort()))).listen(8000, '127.0.0.1')`,
    bootstrap: 'node $RUNTIME_CODE_ROOT/app.js\n',
  })
  await client.createFunction(httpFunction('mounts-http', zip))
  const res = await client.invoke(
    'mounts-http',
    JSON.stringify({ httpMethod: 'GET', path: '/', headers: {} }),
  )
  expect(res.isFunctionError).toBe(false)
  const wrapped = JSON.parse(res.result) as { body: string }
  expect(JSON.parse(Buffer.from(wrapped.body, 'base64').toString('utf8'))).toEqual([
    'common',
    'http',
  ])
})
