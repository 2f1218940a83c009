/**
 * @module The built-in catalogue: every function and app template, looked up by id or name, and
 * a function template's code as the zip a function is created with.
 */
import yazl from 'yazl'
import { StratoError } from '../core/index.js'
import { APP_TEMPLATES } from './app-templates.js'
import { HELLO_WORLD_TEMPLATES } from './hello-world-templates.js'
import { HTTP_APP_TEMPLATES } from './http-app-templates.js'
import type { AppTemplate, FunctionTemplate, TemplateFile } from './template-types.js'
import { TRIGGER_TEMPLATES } from './trigger-templates.js'

export const FUNCTION_TEMPLATES: readonly FunctionTemplate[] = [
  ...HELLO_WORLD_TEMPLATES,
  ...HTTP_APP_TEMPLATES,
  ...TRIGGER_TEMPLATES,
]

/** A function template by its id or its name; TEMPLATE_NOT_FOUND otherwise. */
export function functionTemplate(idOrName: string): FunctionTemplate {
  const t = FUNCTION_TEMPLATES.find((f) => f.id === idOrName || f.name === idOrName)
  if (t === undefined) {
    throw new StratoError(
      'TEMPLATE_NOT_FOUND',
      `No function template '${idOrName}'; the templates are ${FUNCTION_TEMPLATES.map((f) => f.name).join(', ')}.`,
    )
  }
  return t
}

/** An app template by its id or its name; TEMPLATE_NOT_FOUND otherwise. */
export function appTemplate(idOrName: string): AppTemplate {
  const t = APP_TEMPLATES.find((a) => a.id === idOrName || a.name === idOrName)
  if (t === undefined) {
    throw new StratoError(
      'TEMPLATE_NOT_FOUND',
      `No app template '${idOrName}'; the app templates are ${APP_TEMPLATES.map((a) => a.name).join(', ')}.`,
    )
  }
  return t
}

export function fileBytes(file: TemplateFile): Buffer {
  return typeof file === 'string' ? Buffer.from(file, 'utf8') : Buffer.from(file.base64, 'base64')
}

/** One fixed time for every entry: the same template zips to the same bytes (and digest). */
const ENTRY_TIME = new Date('2026-01-01T00:00:00Z')
const packages = new Map<string, Promise<Buffer>>()

async function zipOf(t: FunctionTemplate): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  const executables = new Set(t.executables ?? [])
  for (const [name, file] of Object.entries(t.files).sort(([a], [b]) => a.localeCompare(b))) {
    zip.addBuffer(fileBytes(file), name, {
      mtime: ENTRY_TIME,
      mode: executables.has(name) ? 0o100755 : 0o100644,
    })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The template's files as a zip package (built once per process). */
export function templatePackage(t: FunctionTemplate): Promise<Buffer> {
  let zip = packages.get(t.id)
  if (zip === undefined) {
    zip = zipOf(t)
    packages.set(t.id, zip)
  }
  return zip
}
