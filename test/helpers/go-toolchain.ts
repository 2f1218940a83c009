/**
 * Builds Go programs for tests with the host's Go (Debian's golang-go, tests only) and the
 * standard library alone: module downloads are impossible here, so FunctionGraph's Go runtime
 * library is stood in for by `test/fixtures/go-function/fgruntime`, which registers the same
 * net/rpc service shape. Builds are cached per process; GOCACHE is one shared temp dir (content
 * addressed, so safe to share), so the standard library compiles once per machine, not per run.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import yazl from 'yazl'

const here = path.dirname(fileURLToPath(import.meta.url))
/** The test function: a handler registered with the stand-in of the Go runtime library. */
export const GO_FUNCTION_SOURCE = path.resolve(here, '../fixtures/go-function')

const goCommand = process.env.STRATO_TEST_GO ?? 'go'
let goVersion: string | null | undefined

/** The host Go's version line, or null when there is none (tests that need it are skipped). */
export function hostGoVersion(): string | null {
  if (goVersion === undefined) {
    const r = spawnSync(goCommand, ['version'], { encoding: 'utf8' })
    goVersion = r.status === 0 ? r.stdout.trim() : null
  }
  return goVersion
}

/** Why Go tests are skipped here, for `describe.skipIf` messages. */
export const NO_GO_REASON =
  'no Go toolchain on this machine (install golang-go: scripts/setup-system.sh)'

let workDir: string | undefined
function goEnv(): NodeJS.ProcessEnv {
  workDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'strato-go-'))
  return {
    ...process.env,
    GOCACHE: path.join(os.tmpdir(), 'strato-test-gocache'),
    GOPATH: path.join(workDir, 'gopath'),
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOOS: 'linux',
  }
}

const built = new Map<string, string>()

/** Builds the Go module (or single-file program) at `source`; returns the executable's path. */
export function buildGo(source: string): string {
  const cached = built.get(source)
  if (cached !== undefined) {
    return cached
  }
  const env = goEnv()
  const out = path.join(workDir!, `bin-${built.size}`)
  const dir = fs.statSync(source).isDirectory() ? source : path.dirname(source)
  const target = fs.statSync(source).isDirectory() ? '.' : path.basename(source)
  execFileSync(goCommand, ['build', '-trimpath', '-o', out, target], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 180_000,
  })
  built.set(source, out)
  return out
}

/** A ZIP holding `files`, each at mode 0755 unless its entry says otherwise. */
export async function zipExecutables(
  files: Record<string, { content: Buffer; mode?: number }>,
): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, { content, mode }] of Object.entries(files)) {
    zip.addBuffer(content, name, { mode: 0o100000 | (mode ?? 0o755) })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The test function built and zipped as `handler` (its name is the function's handler). */
export async function goFunctionZip(handler = 'handler', mode = 0o755): Promise<Buffer> {
  return zipExecutables({
    [handler]: { content: fs.readFileSync(buildGo(GO_FUNCTION_SOURCE)), mode },
  })
}
