/**
 * Builds code packages for tests: real zips (yazl), and hostile ones written with Python's zipfile,
 * which (unlike yazl) lets a test put '../' paths, absolute paths and symlinks into an archive.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import yazl from 'yazl'

export async function zipFiles(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, {
      mode: 0o100644,
    })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Entries: [name, content, optional unix mode]; mode 0o120777 makes a symlink entry. */
export function pythonZip(entries: Array<[string, string, number?]>): Buffer {
  const script = `
import io, json, sys, zipfile
entries = json.loads(sys.stdin.read())
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    for name, content, mode in entries:
        info = zipfile.ZipInfo(name)
        info.external_attr = (mode or 0o100644) << 16
        z.writestr(info, content)
sys.stdout.buffer.write(buf.getvalue())
`
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(entries.map(([n, c, m]) => [n, c, m ?? null])),
  })
  if (r.status !== 0) {
    throw new Error(`python zip failed: ${r.stderr.toString()}`)
  }
  return r.stdout
}

export function b64(data: string | Buffer): string {
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('base64')
}

/** A create-function body with inline source. */
export function inlineFunction(
  name: string,
  source: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const runtime = (extra.runtime as string | undefined) ?? 'Node.js18.15'
  return {
    func_name: name,
    package: 'default',
    runtime,
    handler: 'index.handler',
    memory_size: 128,
    timeout: 30,
    code_type: 'inline',
    func_code: { file: b64(source) },
    ...extra,
  }
}

/** A create-function body for an HTTP function (`runtime: "http"`) from its zip. */
export function httpFunction(
  name: string,
  zip: Buffer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    func_name: name,
    package: 'default',
    runtime: 'http',
    handler: 'bootstrap',
    memory_size: 256,
    timeout: 10,
    code_type: 'zip',
    func_code: { file: b64(zip) },
    ...extra,
  }
}

/** Zips a directory tree (files only), with `extra` files added at the root. */
export async function zipDirectory(
  dir: string,
  extra: Record<string, string | Buffer> = {},
): Promise<Buffer> {
  const files: Record<string, string | Buffer> = {}
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) {
        walk(r)
      } else if (e.isFile()) {
        files[r] = fs.readFileSync(path.join(dir, r))
      }
    }
  }
  walk('')
  return zipFiles({ ...files, ...extra })
}
