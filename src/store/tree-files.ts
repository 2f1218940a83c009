/**
 * @module Walking an extracted code tree: its files for verification, its folders to make
 * read-only once extraction is done.
 */
import fsp from 'node:fs/promises'
import path from 'node:path'

/** Every file under `root`, as `/`-separated paths relative to it. */
export async function listTreeFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  const entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true })
  for (const e of entries) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) {
      out.push(...(await listTreeFiles(root, r)))
    } else {
      out.push(r)
    }
  }
  return out
}

/** Makes every folder of an extracted tree read-only (its files were written read-only). */
export async function freezeTree(dir: string): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      await freezeTree(path.join(dir, e.name))
    }
  }
  await fsp.chmod(dir, 0o555)
}
