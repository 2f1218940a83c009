/**
 * The README's "A short tour", run as written: every command of its sh block, top to bottom, with
 * the examples (copied to a temporary folder, as a fresh clone would have them), against a real
 * Strato. Each command must do what its README comment says. `npx strato` runs bin/strato.js
 * (built by `npm run build`); one test runs `npx --prefix <checkout> strato` from outside the
 * checkout, as the README offers.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  ACCESS_KEY,
  PROJECT_ID,
  REPO_ROOT,
  SECRET_KEY,
  startTestStrato,
  tmpDir,
  type TestStrato,
} from '../helpers/strato.js'

let strato: TestStrato
let workDir: string

beforeAll(async () => {
  strato = await startTestStrato()
  workDir = tmpDir('strato-tour-')
  fs.cpSync(path.join(REPO_ROOT, 'examples'), path.join(workDir, 'examples'), {
    recursive: true,
    filter: (src) => path.basename(src) !== 'node_modules',
  })
})
afterAll(async () => {
  await strato.close()
  fs.rmSync(workDir, { recursive: true, force: true })
})

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function run(file: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: workDir,
        encoding: 'utf8',
        timeout: timeoutMs,
        // The whole environment: npm needs the machine's CA and registry settings.
        env: {
          ...process.env,
          STRATO_ENDPOINT: strato.url,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
        },
      },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : null,
          stdout,
          stderr,
        })
      },
    )
  })
}

/** The words of one sh command line: quotes as sh reads them, an unquoted `#` starts a comment. */
function shellWords(line: string): string[] {
  const words: string[] = []
  let word: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? ''
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1)
      if (end < 0) {
        throw new Error(`unclosed quote in: ${line}`)
      }
      word = (word ?? '') + line.slice(i + 1, end)
      i = end
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) {
        words.push(word)
      }
      word = undefined
    } else if (c === '#' && word === undefined) {
      break
    } else {
      word = (word ?? '') + c
    }
  }
  if (word !== undefined) {
    words.push(word)
  }
  return words
}

/** The commands of the README's tour: the first sh block after "## A short tour". */
function tourCommands(): string[][] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## A short tour'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (block === undefined) {
    throw new Error('README.md has no sh block in "A short tour"')
  }
  return block
    .split('\n')
    .map(shellWords)
    .filter((w) => w.length > 0)
}

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>

/** What each tour command must do, as its README comment says; keyed by its words. */
const CHECKS: Array<[RegExp, (r: Run) => void | Promise<void>]> = [
  [
    /^strato whoami$/,
    (r) => {
      expect(r.stdout).toMatch(new RegExp(`^project_id +${PROJECT_ID}$`, 'm'))
      expect(r.stdout).toMatch(new RegExp(`^endpoint +${strato.url}$`, 'm'))
    },
  ],
  [
    /^strato deploy examples\/hello-node /,
    (r) => {
      expect(r.stdout).toContain('runtime Node.js20.15, handler index.handler (found index.js')
      expect(r.stdout).toContain(
        `created urn:fss:local-1:${PROJECT_ID}:function:default:hello:latest`,
      )
    },
  ],
  [
    /^strato invoke hello --data /,
    (r) => {
      expect(json(r.stdout)).toEqual({ message: 'Hello, Ada!', stage: 'dev' })
      expect(r.stderr).toContain('INFO greeting Ada')
      expect(r.stderr).toContain('Finish invoke request')
    },
  ],
  [
    /^strato invoke hello --async /,
    (r) => expect(json(r.stdout).request_id).toMatch(/^[0-9a-f-]{36}$/),
  ],
  [
    /^strato logs hello$/,
    (r) => {
      expect(r.stdout).toContain('greeting Ada')
      expect(r.stdout).toContain('Start invoke request')
    },
  ],
  [
    /^strato list$/,
    (r) => {
      const lines = r.stdout.trimEnd().split('\n')
      expect(lines[0]).toMatch(/^NAME +RUNTIME +MEMORY +TIMEOUT +LAST MODIFIED$/)
      expect(lines).toContainEqual(
        expect.stringMatching(/^hello +Node\.js20\.15 +128 MB +30 s +\d{4}-/),
      )
    },
  ],
  [
    /^strato show hello$/,
    (r) =>
      expect(json(r.stdout)).toMatchObject({ func_name: 'hello', user_data: '{"STAGE":"dev"}' }),
  ],
  [
    /^strato deploy examples\/hello-python /,
    (r) => expect(r.stdout).toContain('runtime Python3.10, handler index.handler (found index.py'),
  ],
  [
    /^strato invoke hello-py /,
    (r) => expect(json(r.stdout)).toMatchObject({ message: 'Hello, Grace!' }),
  ],
  [
    /^npm install /,
    () =>
      expect(fs.existsSync(path.join(workDir, 'examples/express-http/node_modules/express'))).toBe(
        true,
      ),
  ],
  [
    /^strato deploy examples\/express-http /,
    (r) => expect(r.stdout).toContain('runtime http, handler bootstrap (found bootstrap'),
  ],
  [
    /^strato invoke web /,
    (r) => {
      expect(json(r.stdout)).toMatchObject({ hello: 'Ada' })
      expect(r.stderr).toMatch(/^HTTP 200$/m)
      expect(r.stderr).toMatch(/^Content-Type: application\/json/im)
    },
  ],
  [
    /^strato version publish hello --version v1$/,
    (r) => expect(r.stdout).toContain('published version v1'),
  ],
  [
    /^strato alias create hello live /,
    (r) => expect(r.stdout).toContain('created alias live → version v1'),
  ],
  [
    /^strato invoke hello:!live /,
    (r) => expect(json(r.stdout)).toMatchObject({ message: 'Hello, Ada!' }),
  ],
  [
    /^strato trigger create web /,
    (r) =>
      expect(r.stdout).toMatch(
        new RegExp(
          `created trigger [0-9a-f]{32}: GET ${strato.running.gatewayUrl}/hello/\\{name\\}`,
        ),
      ),
  ],
  [
    /^strato delete hello$/,
    async (r) => {
      expect(r.stdout).toContain('deleted hello')
      const gone = await run(process.execPath, [
        path.join(REPO_ROOT, 'bin/strato.js'),
        'show',
        'hello',
      ])
      expect(gone.stderr).toContain('FSS.1051')
    },
  ],
]

test('the README tour runs top to bottom with the examples, every command doing what it says', async () => {
  const commands = tourCommands()
  expect(commands.length).toBeGreaterThan(10)
  const checked = new Set<RegExp>()
  for (const words of commands) {
    const [cmd = '', ...args] = words
    let r: Run
    let key: string
    if (cmd === 'export') {
      // The test's environment already holds these; the README must name all four.
      const names = args.map((a) => a.split('=')[0]).sort()
      expect(names).toEqual([
        'STRATO_ACCESS_KEY',
        'STRATO_ENDPOINT',
        'STRATO_PROJECT_ID',
        'STRATO_SECRET_KEY',
      ])
      continue
    } else if (cmd === 'npx' && args[0] === 'strato') {
      key = args.join(' ')
      r = await run(process.execPath, [path.join(REPO_ROOT, 'bin/strato.js'), ...args.slice(1)])
    } else if (cmd === 'npm') {
      key = words.join(' ')
      r = await run('npm', args, 180_000)
    } else if (cmd === 'curl') {
      key = words.join(' ')
      const url = (args[0] ?? '').replace('http://127.0.0.1:8081', strato.running.gatewayUrl)
      const res = await fetch(url)
      expect({ key, status: res.status }).toEqual({ key, status: 200 })
      expect(json(await res.text())).toMatchObject({ hello: 'Ada' })
      continue
    } else {
      throw new Error(`the tour has a command this test cannot run: ${words.join(' ')}`)
    }
    expect({ key, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({
      key,
      code: 0,
      stderr: '',
    })
    for (const [pattern, check] of CHECKS) {
      if (pattern.test(key)) {
        checked.add(pattern)
        await check(r)
      }
    }
  }
  // Every check met its command: the tour still says what the checks expect.
  expect(CHECKS.filter(([p]) => !checked.has(p)).map(([p]) => String(p))).toEqual([])
}, 600_000)

test('strato runs outside the checkout with npx --prefix <checkout>', async () => {
  const r = await run('npx', ['--prefix', REPO_ROOT, 'strato', 'whoami'], 120_000)
  expect(r.code).toBe(0)
  expect(r.stdout).toMatch(new RegExp(`^project_id +${PROJECT_ID}$`, 'm'))
}, 180_000)
