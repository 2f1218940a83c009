/**
 * Code packages that could hurt the host (issue 12, defects 1 and 2): nesting that no tool can
 * remove, archives that unzip to far more than they weigh, and code that outlives its function.
 * The limits are set low here so that each case runs in a moment.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, tmpDir, waitFor, type TestStrato } from '../helpers/strato.js'
import { apiError } from '../helpers/sdk.js'
import { b64, inlineFunction, pythonZip, zipFiles } from '../helpers/code.js'

const UNZIPPED_MAX = 200_000
const TOTAL_MAX = 300_000
const HELLO = 'exports.handler = async () => "hello"'

let strato: TestStrato

beforeAll(async () => {
  strato = await startTestStrato({
    STRATO_CODE_UNZIPPED_MAX_BYTES: String(UNZIPPED_MAX),
    STRATO_CODE_TOTAL_MAX_BYTES: String(TOTAL_MAX),
  })
})
afterAll(async () => {
  await strato.close()
})

const createWithZip = (name: string, zip: Buffer) =>
  strato.client.createFunction({
    ...inlineFunction(name, ''),
    code_type: 'zip',
    func_code: { file: b64(zip) },
  })
const codeDir = (...parts: string[]) => path.join(strato.dataDir, 'code', ...parts)
const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('hex')

/** `index.js` and `count` empty files, as Python's zipfile writes them (ZIP64 past 65,535). */
function manyEntriesZip(count: number): Buffer {
  const script = `
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    z.writestr('index.js', ${JSON.stringify(HELLO)})
    for i in range(${count}):
        z.writestr('f/%d' % i, '')
sys.stdout.buffer.write(buf.getvalue())
`
  const r = spawnSync('python3', ['-c', script], { maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) {
    throw new Error(`python zip failed: ${r.stderr.toString()}`)
  }
  return r.stdout
}

/** Nests `<parent>/<name>` `depth` dirs deep without ever naming a long path (see the unit test). */
function deepTree(parent: string, name: string, depth: number): void {
  const chain = path.join(parent, name)
  fs.mkdirSync(chain, { recursive: true })
  fs.writeFileSync(path.join(chain, 'index.js'), 'x')
  for (let i = 0; i < depth; i++) {
    const wrap = path.join(parent, `${name}.wrap`)
    fs.mkdirSync(wrap)
    fs.renameSync(chain, path.join(wrap, 'directory'))
    fs.renameSync(wrap, chain)
  }
}

describe('a package that could make Strato unable to run or start is refused at upload', () => {
  test('one file under 2,000 nested folders is 400 FSS.1011 naming the depth limit; nothing is stored', async () => {
    const zip = pythonZip([
      ['index.js', HELLO],
      [`${'a/'.repeat(2000)}deep.js`, 'x'],
    ])
    expect(zip.length).toBeLessThan(16_000)
    const err = await apiError(createWithZip('deep', zip))
    expect([err.status, err.errorCode]).toEqual([400, 'FSS.1011'])
    expect(err.message).toMatch(
      /^The code package nests folders 2000 deep \('a\/a\/a\/.*'\); the limit is 128\.$/,
    )
    expect(fs.readdirSync(codeDir('tmp'))).toEqual([])
    expect(fs.readdirSync(codeDir('trees'))).toEqual([])
  })

  test('a path over 1024 bytes and a name over 255 bytes are refused by name, never echoing a server path', async () => {
    const longPath = await apiError(
      createWithZip(
        'longpath',
        pythonZip([
          ['index.js', HELLO],
          [`${'folderxyz/'.repeat(105)}x.js`, 'x'],
        ]),
      ),
    )
    expect([longPath.status, longPath.errorCode]).toEqual([400, 'FSS.1011'])
    expect(longPath.message).toMatch(/a path of 1054 bytes .*; the limit is 1024\.$/)
    const longName = await apiError(
      createWithZip(
        'longname',
        pythonZip([
          ['index.js', HELLO],
          [`lib/${'n'.repeat(300)}.js`, 'x'],
        ]),
      ),
    )
    expect([longName.status, longName.errorCode]).toEqual([400, 'FSS.1011'])
    expect(longName.message).toMatch(/a name of 303 bytes \('n+…n+\.js'\); the limit is 255\.$/)
    for (const message of [longPath.message, longName.message]) {
      expect(message).not.toContain(strato.dataDir)
      expect(message).not.toMatch(/ENAMETOOLONG|\/tmp\//)
    }
  })
})

describe('unzipped bytes are counted before they are written', () => {
  test('a zip declaring more than the unzipped limit is 413 FSS.1071 at once; nothing is written', async () => {
    // 1 MiB of zeros: a 1 KiB zip that says what it unzips to.
    const bomb = await zipFiles({ 'index.js': HELLO, 'zeros.bin': Buffer.alloc(1024 * 1024) })
    expect(bomb.length).toBeLessThan(4096)
    const err = await apiError(createWithZip('bomb', bomb))
    expect([err.status, err.errorCode]).toEqual([413, 'FSS.1071'])
    expect(err.message).toBe(
      `The code package declares at least ${1024 * 1024 + HELLO.length} bytes unzipped; the limit is ${UNZIPPED_MAX}.`,
    )
    // A central directory claiming 3.75 GiB: refused from the claim, before any extraction.
    const liar = await zipFiles({ 'index.js': HELLO })
    liar.writeUInt32LE(0xf000_0000, liar.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24)
    const started = Date.now()
    const lie = await apiError(createWithZip('liar', liar))
    expect(Date.now() - started).toBeLessThan(1000)
    expect([lie.status, lie.errorCode]).toEqual([413, 'FSS.1071'])
    expect(lie.message).toContain(`declares at least ${0xf000_0000} bytes unzipped`)
    expect(fs.readdirSync(codeDir('tmp'))).toEqual([])
    expect(fs.readdirSync(codeDir('trees'))).toEqual([])
  })

  test('a zip of 70,000 entries is refused in under 2 s from its entry count', async () => {
    const zip = manyEntriesZip(70_000)
    expect(zip.length).toBeLessThan(16 * 1024 * 1024)
    const started = Date.now()
    const err = await apiError(createWithZip('many', zip))
    const tookMs = Date.now() - started
    expect([err.status, err.errorCode]).toEqual([400, 'FSS.1011'])
    expect(err.message).toBe('The code package has 70001 entries; the limit is 65536.')
    expect(tookMs).toBeLessThan(2000)
    expect(fs.readdirSync(codeDir('tmp'))).toEqual([])
  }, 30_000)

  test("unzipped bytes count against the project's code quota, zips included", async () => {
    // 150,000 bytes each once unzipped, well under a kilobyte zipped.
    const big = (fill: string) =>
      zipFiles({ 'index.js': `${HELLO}\n//${fill.repeat(150_000 - HELLO.length - 3)}` })
    const first = await big('a')
    expect(first.length).toBeLessThan(1024)
    await createWithZip('quota1', first)
    const quotas = JSON.parse(
      (await strato.client.raw('GET', `/v2/${PROJECT_ID}/fgs/quotas`)).body.toString(),
    ) as { quotas: { resources: Array<{ type: string; used: number }> } }
    // Used is in MB, rounded up: the 150 KB unzipped count, not just the zip.
    expect(quotas.quotas.resources.find((r) => r.type === 'fgs_func_code_size')?.used).toBe(1)

    const second = await big('b')
    const err = await apiError(createWithZip('quota2', second))
    expect([err.status, err.errorCode]).toEqual([413, 'FSS.1071'])
    expect(err.message).toMatch(
      new RegExp(
        `^The project's code would total at least \\d+ bytes \\(zips and unzipped files\\); the limit is ${TOTAL_MAX}\\.$`,
      ),
    )
    expect(fs.existsSync(codeDir('trees', sha512(second)))).toBe(false)
    // Replacing the function's own code counts the old code out.
    await strato.client.updateCode('quota1', { code_type: 'zip', func_code: { file: b64(second) } })
    await strato.client.deleteFunction('quota1')
  })
})

describe('deleted code is freed at once, not at the next 10-minute collection', () => {
  test('deleting a function (invoked, so an instance ran its code) removes its package and tree', async () => {
    const zip = await zipFiles({ 'index.js': `${HELLO} // freed-on-delete` })
    const fn = await createWithZip('freed', zip)
    expect(fn.digest).toBe(sha512(zip))
    expect((await strato.client.invoke('freed', '{}')).result).toBe('hello')
    expect(fs.existsSync(codeDir('trees', sha512(zip)))).toBe(true)
    await strato.client.deleteFunction('freed')
    await waitFor(
      () =>
        !fs.existsSync(codeDir('trees', sha512(zip))) &&
        !fs.existsSync(codeDir('packages', `${sha512(zip)}.zip`)),
      3000,
    )
  })

  test('deleting a dependency version removes its package and tree', async () => {
    const zip = await zipFiles({ 'node_modules/dep-freed/index.js': 'module.exports = 1' })
    const res = await strato.client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/dependencies/version`,
      JSON.stringify({
        name: 'dep-freed',
        runtime: 'Node.js18.15',
        depend_type: 'zip',
        depend_file: b64(zip),
      }),
    )
    expect(res.status).toBe(200)
    const dep = JSON.parse(res.body.toString()) as { dep_id: string; version: number }
    expect(fs.existsSync(codeDir('trees', sha512(zip)))).toBe(true)
    const del = await strato.client.raw(
      'DELETE',
      `/v2/${PROJECT_ID}/fgs/dependencies/${dep.dep_id}/version/${dep.version}`,
    )
    expect(del.status).toBe(204)
    await waitFor(() => !fs.existsSync(codeDir('trees', sha512(zip))), 3000)
  })
})

const canMakeImmutable =
  process.getuid?.() === 0 &&
  ((): boolean => {
    const probe = tmpDir('chattr-')
    const ok = spawnSync('chattr', ['+i', probe]).status === 0
    spawnSync('chattr', ['-i', probe])
    fs.rmSync(probe, { recursive: true, force: true })
    return ok
  })()

test('Strato starts with leftover trees nested past PATH_MAX (removed) and one it cannot remove (reported, skipped)', async () => {
  const dir = tmpDir()
  const code = path.join(dir, 'code')
  fs.mkdirSync(path.join(code, 'packages'), { recursive: true })
  // 450 × 'directory/': 4,500 bytes of path, past PATH_MAX, as a 2,000-folder zip used to leave.
  deepTree(path.join(code, 'tmp'), 'x-crashed', 450)
  deepTree(path.join(code, 'trees'), 'd'.repeat(128), 450)
  fs.writeFileSync(path.join(code, 'trees', `${'d'.repeat(128)}.manifest.json`), '{"files":[]}')
  const stuckFile = path.join(code, 'trees', 'e'.repeat(128), 'index.js')
  fs.mkdirSync(path.dirname(stuckFile))
  fs.writeFileSync(stuckFile, 'x')
  if (canMakeImmutable) {
    expect(spawnSync('chattr', ['+i', stuckFile]).status).toBe(0)
  }
  try {
    const restarted = await startTestStrato({}, dir)
    try {
      expect((await fetch(`${restarted.url}/strato/health`)).status).toBe(200)
      expect(fs.readdirSync(path.join(code, 'tmp'))).toEqual([])
      expect(fs.readdirSync(path.join(code, 'trees'))).toEqual(
        canMakeImmutable ? ['e'.repeat(128)] : [],
      )
    } finally {
      await restarted.close()
    }
  } finally {
    spawnSync('chattr', ['-i', stuckFile])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)
