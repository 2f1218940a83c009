import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { handlerModuleCandidates, inferRuntime, packageCode } from './package-folder.js'

const dirs: string[] = []
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-pkg-'))
  dirs.push(dir)
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), body)
  }
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true })
  }
})

describe('inferRuntime says what it guessed and why', () => {
  test.each([
    [{ bootstrap: 'node app.js', 'app.js': '' }, 'http', 'bootstrap', 'found bootstrap'],
    [
      { bootstrap: 'curl "http://$RUNTIME_API_ADDR/v1/runtime/invocation/request"' },
      'Custom',
      'bootstrap',
      'a custom runtime',
    ],
    [{ 'index.py': '' }, 'Python3.10', 'index.handler', 'found index.py'],
    [{ 'index.php': '' }, 'PHP8.3', 'index.handler', 'found index.php'],
    [{ 'index.mjs': '' }, 'Node.js20.15', 'index.handler', 'found index.mjs'],
    [{ 'main.py': '' }, 'Python3.10', 'index.handler', 'found .py files and no .js files'],
    [{ 'README.md': '' }, 'Node.js20.15', 'index.handler', 'Node.js is the default'],
  ])('%o → %s', (files, runtime, handler, reason) => {
    const guess = inferRuntime(folder(files))
    expect(guess).toMatchObject({ runtime, handler })
    expect(guess.reason).toContain(reason)
  })

  test('a single file names the handler after itself', () => {
    const dir = folder({ 'greeter.py': '' })
    expect(inferRuntime(path.join(dir, 'greeter.py'))).toMatchObject({
      runtime: 'Python3.10',
      handler: 'greeter.handler',
    })
  })
})

test('packageCode lists the files the server will see; handler candidates match them', async () => {
  const pkg = await packageCode(folder({ 'src/app.js': 'x', 'index.py': 'y' }))
  expect([...pkg.files].sort()).toEqual(['index.py', 'src/app.js'])
  expect(pkg.zip.subarray(0, 2).toString()).toBe('PK')
  expect(handlerModuleCandidates('node', 'src/app.handler')).toEqual([
    'src/app.js',
    'src/app.cjs',
    'src/app.mjs',
  ])
  expect(handlerModuleCandidates('python', 'index.handler')).toEqual(['index.py'])
  expect(handlerModuleCandidates('php', 'src/index.handler')).toEqual(['src/index.php'])
  expect(handlerModuleCandidates('java', 'com.example.Hello.handler')).toEqual([
    'com/example/Hello.class',
  ])
  expect(handlerModuleCandidates('go', 'handler')).toEqual(['handler'])
  expect(handlerModuleCandidates('custom', 'bootstrap')).toEqual(['bootstrap'])
  expect(handlerModuleCandidates('http', 'bootstrap')).toEqual(['bootstrap'])
  expect(handlerModuleCandidates('custom', 'bootstrap')).toEqual(['bootstrap'])
})
