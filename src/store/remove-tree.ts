/**
 * @module Removes a directory tree of any depth and any permissions. Node's own `rm` builds each
 * path from the root, so a tree nested past PATH_MAX (4096 bytes) fails with ENAMETOOLONG; here a
 * subtree whose path grows long is first renamed to a short path (rename only needs the old path,
 * which is still short enough), so no call ever sees a path near the limit.
 */
import { randomBytes } from 'node:crypto'
import type { Dirent } from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'

/**
 * A dir path up to this long plus one name (NAME_MAX 255) stays far below PATH_MAX; short paths
 * also keep each call's path lookup cheap, which matters for trees thousands of levels deep.
 */
const SHORT_PATH_MAX_BYTES = 512

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/**
 * Removes `root` (a dir, a file or nothing) and everything under it. Read-only dirs (code trees
 * are 0555) are made writable on the way. Deep subtrees are moved into `scratchDir` (same file
 * system, short path) and removed from there; if a removal fails half-way, what is left is either
 * under `root` or a `deep-*` dir in `scratchDir`. Throws the first error it cannot get past.
 */
export async function removeTree(root: string, scratchDir: string): Promise<void> {
  // Post-order without recursion: a dir is removed once everything under it is gone.
  const stack: Array<{ dir: string; emptied: boolean }> = [{ dir: root, emptied: false }]
  while (stack.length > 0) {
    const top = stack.pop()
    if (top === undefined) {
      break
    }
    if (top.emptied) {
      await fsp.rmdir(top.dir).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') {
          throw err
        }
      })
      continue
    }
    await fsp.chmod(top.dir, 0o700).catch(() => undefined)
    let entries: Dirent[]
    try {
      entries = await fsp.readdir(top.dir, { withFileTypes: true })
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        continue
      }
      if (errnoOf(err) === 'ENOTDIR') {
        await fsp.rm(top.dir, { force: true })
        continue
      }
      throw err
    }
    stack.push({ dir: top.dir, emptied: true })
    const files: string[] = []
    for (const e of entries) {
      const entryPath = path.join(top.dir, e.name)
      if (!e.isDirectory()) {
        files.push(entryPath)
        continue
      }
      if (Buffer.byteLength(entryPath) <= SHORT_PATH_MAX_BYTES) {
        stack.push({ dir: entryPath, emptied: false })
        continue
      }
      // Moving a dir to another parent needs write permission on the dir itself (for its '..').
      await fsp.chmod(entryPath, 0o700).catch(() => undefined)
      const moved = path.join(scratchDir, `deep-${randomBytes(8).toString('hex')}`)
      await fsp.rename(entryPath, moved)
      stack.push({ dir: moved, emptied: false })
    }
    // Files (and symlinks, never followed) of one dir go in parallel: a node_modules tree has
    // tens of thousands.
    await Promise.all(
      files.map((f) =>
        fsp.unlink(f).catch((err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') {
            throw err
          }
        }),
      ),
    )
  }
}
