/**
 * What `npm start` runs before Strato: scripts/build-if-changed.sh (no rebuild when nothing
 * changed) and scripts/setup-system.sh (says what it installs with apt before doing so, and does
 * nothing when everything is present). Needs `npm run build` first, as every integration test.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { REPO_ROOT, tmpDir } from '../helpers/strato.js'

test('npm start does not rebuild when nothing changed since the last build', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  expect(pkg.scripts.start).toBe('bash scripts/build-if-changed.sh && node dist/main.js')
  const main = path.join(REPO_ROOT, 'dist/main.js')
  const before = fs.statSync(main).mtimeMs
  const out = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/build-if-changed.sh')], {
    encoding: 'utf8',
  })
  expect(out).toBe('build: dist/ is up to date\n')
  expect(fs.statSync(main).mtimeMs).toBe(before)
})

/** A PATH holding only the named commands: real ones linked, fake ones as scripts. */
function fakePath(real: string[], fake: Record<string, string>): string {
  const dir = tmpDir('strato-path-')
  for (const name of real) {
    const found = execFileSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim()
    fs.symlinkSync(found, path.join(dir, name))
  }
  for (const [name, body] of Object.entries(fake)) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 })
  }
  return dir
}

function setupSystem(pathDir: string): { status: number | null; output: string } {
  const r = spawnSync('/bin/bash', [path.join(REPO_ROOT, 'scripts/setup-system.sh')], {
    encoding: 'utf8',
    env: { PATH: pathDir },
  })
  return { status: r.status, output: r.stdout + r.stderr }
}

const APT = 'echo "apt-get $*"'
/** Every tool setup-system looks for on PATH, bwrap aside (egress's too: nft, ip, tc, conntrack). */
const HOST_TOOLS = [
  ...['id', 'setpriv', 'prlimit', 'python3', 'php', 'javac', 'go', 'curl'],
  ...['nft', 'ip', 'tc', 'conntrack'],
]

test('setup-system says what it will install with apt before installing it', () => {
  const dir = fakePath(HOST_TOOLS, {
    'apt-get': APT,
  })
  const { status, output } = setupSystem(dir)
  expect(status).toBe(0)
  if (process.getuid?.() === 0) {
    expect(output).toBe(
      [
        'setup-system: missing bubblewrap (the instance sandbox)',
        'setup-system: running: apt-get update && apt-get install -y bubblewrap',
        'apt-get update -qq',
        'apt-get install -y -qq bubblewrap',
        'setup-system: installed bubblewrap',
        '',
      ].join('\n'),
    )
  } else {
    expect(output).toContain('apt-get install bubblewrap, as root')
    expect(output).not.toContain('apt-get update')
  }
  fs.rmSync(dir, { recursive: true, force: true })
})

test('setup-system installs nothing and prints nothing when everything is present', () => {
  const dir = fakePath(HOST_TOOLS, {
    'apt-get': APT,
    bwrap: 'true',
  })
  expect(setupSystem(dir)).toEqual({ status: 0, output: '' })
  fs.rmSync(dir, { recursive: true, force: true })
})
