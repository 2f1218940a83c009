import yauzl from 'yauzl'
import { expect, test } from 'vitest'
import { fixedHandlerOf, runtimeFamilyOf } from '../core/index.js'
import {
  APP_TEMPLATES,
  FUNCTION_TEMPLATES,
  appTemplate,
  functionTemplate,
  templatePackage,
} from './index.js'

test('ids and names are unique across function and app templates, and both look a template up', () => {
  const keys = [...FUNCTION_TEMPLATES, ...APP_TEMPLATES].flatMap((t) => [t.id, t.name])
  expect(new Set(keys).size).toBe(keys.length)
  for (const t of FUNCTION_TEMPLATES) {
    expect(functionTemplate(t.id)).toBe(t)
    expect(functionTemplate(t.name)).toBe(t)
  }
  for (const a of APP_TEMPLATES) {
    expect(appTemplate(a.name)).toBe(a)
  }
  expect(() => functionTemplate('nope')).toThrow(/No function template 'nope'/)
})

test('every function template runs here: its runtime has a family, its handler names a file it ships', () => {
  for (const t of FUNCTION_TEMPLATES) {
    const family = runtimeFamilyOf(t.runtime)
    expect(family, t.name).toBeDefined()
    const fixed = fixedHandlerOf(t.runtime)
    const files = Object.keys(t.files)
    if (fixed !== undefined) {
      expect(t.handler, t.name).toBe(fixed)
      expect(files, t.name).toContain(fixed)
      expect(t.executables ?? [], t.name).toContain(fixed)
    } else if (family === 'java') {
      const cls = `${t.handler.split('.').slice(0, -1).join('/')}.class`
      expect(files, t.name).toContain(cls)
    } else if (t.buildFirst === undefined) {
      const module = t.handler.slice(0, t.handler.lastIndexOf('.'))
      expect(
        files.some((f) => f.startsWith(`${module}.`)),
        `${t.name}: ${module}.*`,
      ).toBe(true)
    }
  }
})

test('every app template names existing function templates, and its ${params} are declared', () => {
  for (const a of APP_TEMPLATES) {
    const declared = new Set(a.params.map((p) => p.name))
    for (const f of a.functions) {
      expect(() => functionTemplate(f.functionTemplate)).not.toThrow()
      const used = JSON.stringify(f).match(/\$\{(\w+)\}/g) ?? []
      for (const u of used) {
        expect(declared, `${a.name}: ${u}`).toContain(u.slice(2, -1))
      }
    }
  }
})

test('a template zips its files with a fixed time, bootstrap executable', async () => {
  const t = functionTemplate('http-koa-style')
  const zip = await templatePackage(t)
  const entries = await new Promise<yauzl.Entry[]>((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err !== null) {
        reject(err)
        return
      }
      const seen: yauzl.Entry[] = []
      file.on('entry', (e: yauzl.Entry) => {
        seen.push(e)
        file.readEntry()
      })
      file.on('end', () => resolve(seen))
      file.readEntry()
    })
  })
  expect(entries.map((e) => e.fileName)).toEqual(['app.js', 'bootstrap', 'mini-koa.js'])
  const mode = (name: string): number =>
    (entries.find((e) => e.fileName === name)!.externalFileAttributes >>> 16) & 0o777
  expect(mode('bootstrap')).toBe(0o755)
  expect(mode('app.js')).toBe(0o644)
  expect(new Set(entries.map((e) => e.getLastModDate().toISOString())).size).toBe(1)
})
