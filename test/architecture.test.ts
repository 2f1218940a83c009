/**
 * The repository's own rules, checked: subsystems import each other only through their index.ts
 * and only in the directions house-style allows; every error code is documented in docs/errors.md.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { ErrorCodes } from '../src/core/index.js'

const SRC = path.resolve(import.meta.dirname, '../src')

/** Which subsystems each subsystem may import (house-style §8). main.ts may import everything. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  config: ['core'],
  observability: ['core', 'config'],
  store: ['core', 'config', 'observability'],
  auth: ['core', 'config', 'observability', 'store'],
  runtime: ['core', 'config', 'observability'],
  scheduler: ['core', 'config', 'observability', 'runtime', 'store'],
  async: ['core', 'config', 'observability'],
  services: ['core', 'config', 'observability', 'store'],
  api: [
    'core',
    'config',
    'observability',
    'store',
    'services',
    'auth',
    'runtime',
    'scheduler',
    'audit',
    'flows',
    'templates',
  ],
  client: ['core', 'auth'],
  cli: ['core', 'config', 'client', 'templates'],
  triggers: ['core', 'config', 'observability', 'auth', 'audit'],
  audit: ['core'],
  flows: ['core', 'config', 'observability'],
  cluster: ['core', 'config', 'observability'],
  templates: ['core'],
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    return e.isDirectory()
      ? sourceFiles(full)
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [full]
        : []
  })
}

test('architecture: every subsystem is listed and imports others only through index.ts, in allowed directions', () => {
  const subsystems = fs
    .readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
  expect(subsystems.filter((s) => !(s in ALLOWED))).toEqual([])
  const violations: string[] = []
  for (const file of sourceFiles(SRC)) {
    const rel = path.relative(SRC, file)
    const from = rel.includes(path.sep) ? rel.split(path.sep)[0]! : undefined
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), m[1]!)
      const targetRel = path.relative(SRC, target)
      const to = targetRel.includes(path.sep) ? targetRel.split(path.sep)[0]! : undefined
      if (from === undefined || to === undefined || from === to) {
        continue // main.ts, or an import inside one subsystem
      }
      if (path.basename(targetRel) !== 'index.js' || targetRel.split(path.sep).length !== 2) {
        violations.push(`${rel}: imports ${targetRel}, not ${to}/index.js`)
      }
      if (!(ALLOWED[from] ?? []).includes(to)) {
        violations.push(`${rel}: ${from} may not import ${to}`)
      }
    }
  }
  expect(violations).toEqual([])
})

test('architecture: docs/errors.md documents every error code', () => {
  const doc = fs.readFileSync(path.resolve(SRC, '../docs/errors.md'), 'utf8')
  const missing = Object.keys(ErrorCodes).filter((code) => !doc.includes(`\`${code}\``))
  expect(missing).toEqual([])
})

test('architecture: every subsystem has a README', () => {
  const subsystems = fs
    .readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
  expect(subsystems.filter((s) => !fs.existsSync(path.join(SRC, s, 'README.md')))).toEqual([])
})
