/**
 * @module What a sandbox whose root is a container image needs of the host: the machine's Node.js
 * and setpriv, with the shared libraries they load and the dynamic loader, shown read-only under
 * /.strato. They are run through that loader with `--library-path /.strato/lib`, so neither the
 * image's /lib nor its loader is used for them, and the image's own programs never see the host's
 * libraries (no LD_LIBRARY_PATH is set).
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { StratoError } from '../core/index.js'

/** Strato's folder at the image's root (the code store refuses images that write under it). */
export const IMAGE_STRATO_DIR = '/.strato'
export const IMAGE_LIB_DIR = `${IMAGE_STRATO_DIR}/lib`
export const IMAGE_BIN_DIR = `${IMAGE_STRATO_DIR}/bin`
export const IMAGE_GUEST_DIR = `${IMAGE_STRATO_DIR}/guest`

/** Host programs as the image sandbox shows them. */
export interface HostPrograms {
  /** bwrap arguments showing the programs, their libraries and the loader under /.strato. */
  readonly binds: readonly string[]
  /** The argv prefix that runs the host program shown at `/.strato/bin/<name>`. */
  run(name: string): string[]
}

/** The libraries (soname → host path) and loader of a dynamically linked program, from ldd. */
function linkedLibraries(program: string): { loader?: string; libs: Map<string, string> } {
  const r = spawnSync('ldd', [program], { encoding: 'utf8', timeout: 10_000 })
  if (r.status !== 0 && /not a dynamic executable/.test(`${r.stdout}${r.stderr}`)) {
    return { libs: new Map() }
  }
  if (r.status !== 0) {
    throw new StratoError(
      'INSTANCE_START_FAILED',
      `Custom Image functions need ldd to find the libraries of ${program} (${r.error?.message ?? `exit ${r.status}`}).`,
    )
  }
  const libs = new Map<string, string>()
  let loader: string | undefined
  for (const line of r.stdout.split('\n')) {
    const linked = /^\s*(\S+) => (\/\S+)/.exec(line)
    if (linked !== null && linked[1] !== undefined && linked[2] !== undefined) {
      libs.set(linked[1], fs.realpathSync(linked[2]))
      continue
    }
    const interp = /^\s*(\/\S*ld-linux\S*|\/\S*ld\.so\S*) \(/.exec(line)
    if (interp !== null && interp[1] !== undefined) {
      loader = fs.realpathSync(interp[1])
    }
  }
  return { ...(loader === undefined ? {} : { loader }), libs }
}

/** Shows `programs` (host paths, by the name they get under /.strato/bin) inside an image sandbox. */
export function hostPrograms(programs: Readonly<Record<string, string>>): HostPrograms {
  const libs = new Map<string, string>()
  let loader: string | undefined
  for (const program of Object.values(programs)) {
    const linked = linkedLibraries(program)
    loader ??= linked.loader
    for (const [soname, host] of linked.libs) {
      libs.set(soname, host)
    }
  }
  const binds: string[] = []
  for (const dir of [IMAGE_STRATO_DIR, IMAGE_LIB_DIR, IMAGE_BIN_DIR, IMAGE_GUEST_DIR]) {
    binds.push('--perms', '0755', '--dir', dir)
  }
  for (const [soname, host] of libs) {
    binds.push('--ro-bind', host, path.posix.join(IMAGE_LIB_DIR, soname))
  }
  const loaderPath = loader === undefined ? undefined : path.posix.join(IMAGE_LIB_DIR, 'ld.so')
  if (loader !== undefined && loaderPath !== undefined) {
    binds.push('--ro-bind', loader, loaderPath)
  }
  for (const [name, host] of Object.entries(programs)) {
    binds.push('--ro-bind', host, path.posix.join(IMAGE_BIN_DIR, name))
  }
  return {
    binds,
    run: (name) => {
      const bin = path.posix.join(IMAGE_BIN_DIR, name)
      return loaderPath === undefined ? [bin] : [loaderPath, '--library-path', IMAGE_LIB_DIR, bin]
    },
  }
}
