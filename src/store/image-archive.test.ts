import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { buildImageArchive, tarOf, type TarItem } from '../../test/helpers/image-archive.js'
import { CodeStore, DEFAULT_CODE_LIMITS, type CodeStoreLimits } from './code-store.js'
import { IMAGE_CONFIG_PATH, unpackImage } from './image-archive.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true })
  }
})
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'image-archive-'))
  dirs.push(d)
  return d
}

const RUN = { Entrypoint: ['/bin/server'], Cmd: ['--port', '8000'] }

async function image(
  layers: ReadonlyArray<readonly TarItem[]>,
  extra: Partial<Parameters<typeof buildImageArchive>[0]> = {},
): Promise<Buffer> {
  return buildImageArchive({ layers, config: RUN, ...extra })
}

async function unpack(
  bytes: Buffer,
  limits: CodeStoreLimits = DEFAULT_CODE_LIMITS,
  quota?: { limitBytes: number; usedBytes: number },
): Promise<{ root: string; result: Awaited<ReturnType<typeof unpackImage>> }> {
  const root = path.join(tempDir(), 'root')
  fs.mkdirSync(root)
  const result = await unpackImage(root, bytes, limits, quota === undefined ? {} : { quota })
  return { root, result }
}

async function refusal(promise: Promise<unknown>): Promise<StratoError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StratoError)
  return err as StratoError
}

test('image archive: docker save layers apply in order; whiteouts hide lower files, an opaque folder hides its lower contents but keeps its own layer', async () => {
  const bytes = await image([
    [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/keep', content: 'keep' },
      { name: 'etc/gone', content: 'gone' },
      { name: 'data/', type: 'directory' },
      { name: 'data/old-a', content: 'a' },
      { name: 'data/sub/old-b', content: 'b' },
      { name: 'replaced', content: 'v1' },
      { name: 'opt/app/old', content: 'old' },
      { name: 'opt/other', content: 'other' },
    ],
    [
      { name: 'etc/.wh.gone' },
      // The opaque marker after the layer's own file: it still hides only the lower layers'.
      { name: 'data/new', content: 'new' },
      { name: 'data/.wh..wh..opq' },
      { name: 'replaced', content: 'v2' },
      { name: './etc/.wh.never-existed' },
      // This layer's file in a folder a lower layer made, before the opaque marker of its parent.
      { name: 'opt/app/new', content: 'new' },
      { name: 'opt/.wh..wh..opq' },
    ],
  ])
  const { root, result } = await unpack(bytes)
  expect(fs.readFileSync(path.join(root, 'etc/keep'), 'utf8')).toBe('keep')
  expect(fs.existsSync(path.join(root, 'etc/gone'))).toBe(false)
  expect(fs.readdirSync(path.join(root, 'data'))).toEqual(['new'])
  expect(fs.readFileSync(path.join(root, 'replaced'), 'utf8')).toBe('v2')
  expect(fs.readdirSync(path.join(root, 'opt'))).toEqual(['app'])
  expect(fs.readdirSync(path.join(root, 'opt/app'))).toEqual(['new'])
  expect(result.config).toEqual({
    entrypoint: ['/bin/server'],
    cmd: ['--port', '8000'],
    env: [],
    workingDir: '',
    user: '',
  })
  expect(JSON.parse(fs.readFileSync(path.join(root, IMAGE_CONFIG_PATH), 'utf8'))).toEqual(
    result.config,
  )
  expect(result.files.map((f) => f[0]).sort()).toEqual(
    ['.strato/image.json', 'data/new', 'etc/keep', 'opt/app/new', 'replaced'].sort(),
  )
})

test('image archive: an OCI layout with gzip layers unpacks like docker save; symlinks and hard links are kept, the run config read', async () => {
  const bytes = await image(
    [
      [
        { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
        { name: 'bin/alias', type: 'symlink', linkname: '/bin/tool' },
        { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
        { name: 'dev-fifo', type: 'fifo' },
      ],
    ],
    {
      format: 'oci',
      gzipLayers: true,
      config: { Cmd: ['/bin/tool'], Env: ['A=1'], WorkingDir: '/srv', User: '1000' },
    },
  )
  const { root, result } = await unpack(bytes)
  expect(fs.readlinkSync(path.join(root, 'bin/alias'))).toBe('/bin/tool')
  expect(fs.statSync(path.join(root, 'bin/hard')).ino).toBe(
    fs.statSync(path.join(root, 'bin/tool')).ino,
  )
  expect(fs.statSync(path.join(root, 'bin/tool')).mode & 0o777).toBe(0o555)
  expect(fs.existsSync(path.join(root, 'dev-fifo'))).toBe(false)
  expect(result.symlinks).toEqual([['bin/alias', '/bin/tool']])
  // The hard link counts once; the run config is a file of the tree too.
  expect(result.unpackedBytes).toBe(10 + JSON.stringify(result.config).length)
  expect(result.config).toMatchObject({ entrypoint: [], cmd: ['/bin/tool'], env: ['A=1'] })
  expect(result.config).toMatchObject({ workingDir: '/srv', user: '1000' })
})

test('image archive: nothing is written through a symbolic link, whichever layer made it', async () => {
  const outside = tempDir()
  const escapes: Array<readonly TarItem[][]> = [
    // a file below a link in the same layer
    [
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/pwned', content: 'x' },
      ],
    ],
    // a link from a lower layer, a file through it from a higher one
    [
      [{ name: 'lib', type: 'symlink', linkname: '../../..' }],
      [{ name: 'lib/pwned', content: 'x' }],
    ],
    // a hard link to a host file, through a link
    [
      [
        { name: 'up', type: 'symlink', linkname: '/etc' },
        { name: 'h', type: 'link', linkname: 'up/passwd' },
      ],
    ],
    // a whiteout through a link would remove a host file
    [[{ name: 'up', type: 'symlink', linkname: outside }], [{ name: 'up/.wh.victim' }]],
  ]
  fs.writeFileSync(path.join(outside, 'victim'), 'still here')
  for (const layers of escapes) {
    const err = await refusal(unpack(await image(layers)))
    expect(err.code).toBe('INVALID_CODE')
    expect(err.message).toMatch(/symbolic link|not a file of the image/)
  }
  expect(fs.readdirSync(outside)).toEqual(['victim'])
})

test('image archive: .. in a layer path, a hard link out of the tree and a path under /.strato are refused with the entry named', async () => {
  const cases: Array<[readonly TarItem[], RegExp]> = [
    [[{ name: '../../escape', content: 'x' }], /'..\/..\/escape' points outside the image's root/],
    [[{ name: 'a/../../b', content: 'x' }], /points outside the image's root/],
    [
      [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }],
      /points outside the image's root/,
    ],
    [
      [{ name: 'h', type: 'link', linkname: 'missing' }],
      /hard link 'h' to 'missing', which is not a file/,
    ],
    [[{ name: '.strato/image.json', content: '{}' }], /\/\.strato is reserved/],
  ]
  for (const [layer, message] of cases) {
    const err = await refusal(unpack(await image([layer])))
    expect([err.code, err.message]).toEqual(['INVALID_CODE', expect.stringMatching(message)])
  }
})

test('image archive: the code store limits apply (bytes, project quota, entries, name length, depth)', async () => {
  const big = await image([[{ name: 'big', content: Buffer.alloc(4096) }]])
  const bytes = await refusal(unpack(big, { ...DEFAULT_CODE_LIMITS, unzippedMaxBytes: 4000 }))
  expect([bytes.code, bytes.message]).toEqual([
    'CODE_TOO_LARGE',
    'The image unpacks to more than 4000 bytes, the limit.',
  ])
  const quota = await refusal(
    unpack(big, DEFAULT_CODE_LIMITS, { limitBytes: big.length + 5000, usedBytes: 2000 }),
  )
  expect([quota.code, quota.message]).toEqual([
    'CODE_TOO_LARGE',
    expect.stringMatching(/project's code would total/),
  ])
  const gz = await image([[{ name: 'big', content: Buffer.alloc(1 << 20) }]], { gzipLayers: true })
  const bomb = await refusal(
    unpack(gz, { ...DEFAULT_CODE_LIMITS, unzippedMaxBytes: 4096, maxEntries: 4 }),
  )
  expect([bomb.code, bomb.message]).toEqual([
    'CODE_TOO_LARGE',
    expect.stringMatching(/decompresses past the 4096-byte limit/),
  ])
  const many = await image([
    Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, content: 'x' })),
  ])
  const entries = await refusal(unpack(many, { ...DEFAULT_CODE_LIMITS, maxEntries: 10 }))
  expect(entries.message).toBe('The image has more than 10 entries in its layers; the limit is 10.')
  const twoLayers = await image([
    Array.from({ length: 6 }, (_, i) => ({ name: `a${i}`, content: 'x' })),
    Array.from({ length: 6 }, (_, i) => ({ name: `b${i}`, content: 'x' })),
  ])
  await expect(unpack(twoLayers, { ...DEFAULT_CODE_LIMITS, maxEntries: 11 })).rejects.toThrow(
    /limit is 11/,
  )
  const long = await refusal(unpack(await image([[{ name: `${'n'.repeat(300)}`, content: 'x' }]])))
  expect(long.message).toMatch(/a name of 300 bytes .* the limit is 255/)
  const deep = await refusal(
    unpack(await image([[{ name: 'a/'.repeat(20) + 'f', content: 'x' }]]), {
      ...DEFAULT_CODE_LIMITS,
      pathMaxDepth: 10,
    }),
  )
  expect(deep.message).toMatch(/nests folders 20 deep .* the limit is 10/)
})

test('image archive: malformed archives are refused precisely', async () => {
  const cases: Array<[Buffer, RegExp]> = [
    [
      await tarOf([{ name: 'hello.txt', content: 'x' }]),
      /not a container image: it has neither manifest.json/,
    ],
    [await tarOf([{ name: 'manifest.json', content: '{nope' }]), /manifest.json is not valid JSON/],
    [await tarOf([{ name: 'manifest.json', content: '[]' }]), /lists no image/],
    [
      await tarOf([
        {
          name: 'manifest.json',
          content: JSON.stringify([{ Config: 'c.json', Layers: ['l.tar'] }]),
        },
        { name: 'c.json', content: JSON.stringify({ config: RUN }) },
      ]),
      /names the layer 'l.tar' but does not hold it/,
    ],
    [
      await tarOf([
        {
          name: 'manifest.json',
          content: JSON.stringify([
            { Config: 'c.json', Layers: [] },
            { Config: 'c.json', Layers: [] },
          ]),
        },
      ]),
      /holds 2 images/,
    ],
    [await image([[{ name: 'x', content: 'x' }]], { config: {} }), /names no Entrypoint or Cmd/],
    [await image([[{ name: 'x', content: 'x' }]], { architecture: 'arm64' }), /built for arm64/],
    [
      await tarOf([
        {
          name: 'manifest.json',
          content: JSON.stringify([{ Config: 'c.json', Layers: ['l.tar'] }]),
        },
        { name: 'c.json', content: JSON.stringify({ config: RUN }) },
        { name: 'l.tar', content: Buffer.alloc(700, 7) },
      ]),
      /image layer 'l.tar' is not a readable tar archive/,
    ],
  ]
  for (const [bytes, message] of cases) {
    const err = await refusal(unpack(bytes))
    expect([err.code, err.message]).toEqual(['INVALID_CODE', expect.stringMatching(message)])
  }
  // A truncated archive
  const whole = await image([[{ name: 'x', content: Buffer.alloc(3000, 1) }]])
  const cut = await refusal(unpack(whole.subarray(0, 2048)))
  expect(cut.code).toBe('INVALID_CODE')
})

test('code store: a Custom Image function takes an image archive, verifies its links, and refuses a zip or a tar that is not an image', async () => {
  const store = new CodeStore(tempDir())
  const bytes = await image([
    [
      { name: 'bin/tool', content: 'tool', mode: 0o755 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    ],
  ])
  const input = { codeType: 'Custom-Image-Swr' as const, bytes, codeFilename: undefined }
  const stored = await store.ingest(input, 'image', '-')
  expect(stored).toMatchObject({ codeFilename: 'image.tar', codeSize: bytes.length })
  const tree = await store.verify(stored.digest)
  expect(fs.readlinkSync(path.join(tree, 'bin/alias'))).toBe('tool')
  expect((await store.ingest(input, 'image', '-')).digest).toBe(stored.digest)
  // A link pointed elsewhere is caught like a changed file.
  fs.chmodSync(path.join(tree, 'bin'), 0o755)
  fs.unlinkSync(path.join(tree, 'bin/alias'))
  fs.symlinkSync('/etc/passwd', path.join(tree, 'bin/alias'))
  await expect(store.verify(stored.digest)).rejects.toThrow(/the link 'bin\/alias' changed/)
  const notTar = await refusal(
    store.ingest({ ...input, bytes: Buffer.from('PK\x03\x04 not an image') }, 'image', '-'),
  )
  expect(notTar.message).toMatch(
    /image archive: the tar that 'docker save' or an OCI image layout writes/,
  )
  const plain = await refusal(
    store.ingest({ ...input, bytes: await tarOf([{ name: 'a', content: 'b' }]) }, 'image', '-'),
  )
  expect(plain.message).toMatch(/not a container image/)
  const tooBig = await refusal(
    new CodeStore(tempDir(), { ...DEFAULT_CODE_LIMITS, packageMaxBytes: 1000 }).ingest(
      input,
      'image',
      '-',
    ),
  )
  expect(tooBig.code).toBe('CODE_TOO_LARGE')
})
