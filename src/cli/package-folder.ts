/**
 * @module Zips a folder or a single file into a code package for deploy.
 */
import fs from 'node:fs'
import path from 'node:path'
import yazl from 'yazl'

const SKIP = new Set(['.git', '.DS_Store'])

function addTree(zip: yazl.ZipFile, root: string, rel: string): number {
  let count = 0
  for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (SKIP.has(entry.name)) {
      continue
    }
    const r = rel === '' ? entry.name : `${rel}/${entry.name}`
    const full = path.join(root, r)
    if (entry.isDirectory()) {
      count += addTree(zip, root, r)
    } else if (entry.isFile()) {
      const mode = fs.statSync(full).mode
      zip.addFile(full, r, { mode })
      count++
    }
    // Symlinks are left out: Strato refuses them in packages.
  }
  return count
}

/** The zip bytes of `target` (a folder's contents at the zip root, or one file). */
export async function packageCode(target: string): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  const st = fs.statSync(target)
  if (st.isDirectory()) {
    if (addTree(zip, target, '') === 0) {
      throw new Error(`${target} holds no files to deploy`)
    }
  } else {
    zip.addFile(target, path.basename(target), { mode: st.mode })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Guesses runtime and handler from what the target holds. */
export function inferRuntime(target: string): { runtime: string; handler: string } {
  const st = fs.statSync(target)
  if (!st.isDirectory()) {
    const base = path.basename(target).replace(/\.[^.]+$/, '')
    return target.endsWith('.py')
      ? { runtime: 'Python3.10', handler: `${base}.handler` }
      : { runtime: 'Node.js18.15', handler: `${base}.handler` }
  }
  if (fs.existsSync(path.join(target, 'index.py'))) {
    return { runtime: 'Python3.10', handler: 'index.handler' }
  }
  return { runtime: 'Node.js18.15', handler: 'index.handler' }
}
