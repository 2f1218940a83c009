import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { RUNTIME_FAMILIES } from '../../core/index.js'
import { familySpecOf, GUEST_INTERPRETERS, RUNTIME_FAMILY_SPECS } from './index.js'

const RUNTIMES_DIR = path.resolve(import.meta.dirname, '../../../runtimes')
/** The Java guest is built at install (scripts/build-java-runtime.sh), which needs a JDK. */
const CAN_BUILD_JAVA = spawnSync('javac', ['-version']).status === 0

describe('runtime family registry', () => {
  test('every family core names has exactly one registered spec, under its own name', () => {
    expect(RUNTIME_FAMILY_SPECS.map((s) => s.name).sort()).toEqual(
      RUNTIME_FAMILIES.map((f) => f.name).sort(),
    )
    for (const family of RUNTIME_FAMILIES) {
      expect(familySpecOf(family.name).name).toBe(family.name)
    }
  })

  test('every family declares what the launcher and the sandbox need', () => {
    for (const spec of RUNTIME_FAMILY_SPECS) {
      // The guest script exists (a built one where this machine can build it) and lies in one of
      // the folders the sandbox shows.
      if (!spec.guest.script.includes('/build/') || CAN_BUILD_JAVA) {
        expect(fs.existsSync(path.join(RUNTIMES_DIR, spec.guest.script)), spec.guest.script).toBe(
          true,
        )
      }
      expect(spec.guest.folders).toContain(spec.guest.script.split('/')[0])
      for (const folder of spec.guest.folders) {
        expect(fs.statSync(path.join(RUNTIMES_DIR, folder)).isDirectory(), folder).toBe(true)
      }
      expect(GUEST_INTERPRETERS).toContain(spec.interpreter)
      expect(spec.addressSpaceHeadroomBytes).toBeGreaterThan(0)
      expect(['frames', 'http']).toContain(spec.transport)
      for (const memorySizeMb of [128, 1024]) {
        expect(spec.interpreterArgs(memorySizeMb).every((a) => typeof a === 'string')).toBe(true)
      }
      if (!spec.cellsPerMemorySize) {
        // Cells of any size are interchangeable only if their boot does not depend on the size.
        expect(spec.interpreterArgs(128)).toEqual(spec.interpreterArgs(4096))
      }
      if (spec.dependencyPath !== undefined) {
        expect(spec.dependencyPath.variable).toMatch(/^[A-Z_]+$/)
        expect(spec.dependencyPath.subdirs.length).toBeGreaterThan(0)
      }
    }
  })

  test('every interpreter has one name, a probe and FunctionGraph paths under /opt/function/runtime', () => {
    expect(new Set(GUEST_INTERPRETERS.map((i) => i.name)).size).toBe(GUEST_INTERPRETERS.length)
    for (const interpreter of GUEST_INTERPRETERS) {
      expect(interpreter.defaultCommand).not.toBe('')
      expect(interpreter.realPathProbe.length).toBeGreaterThan(0)
      for (const p of interpreter.sandboxPaths) {
        expect(
          p.startsWith('/opt/function/runtime/') && !p.startsWith('/opt/function/runtime/strato/'),
          p,
        ).toBe(true)
      }
    }
  })

  test('runtimes/ holds guest code only: every folder in it is some family guest, so a sandbox shows nothing of the host', () => {
    const used = new Set(RUNTIME_FAMILY_SPECS.flatMap((s) => s.guest.folders))
    const folders = fs
      .readdirSync(RUNTIMES_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
    expect(folders.filter((f) => !used.has(f))).toEqual([])
  })
})
