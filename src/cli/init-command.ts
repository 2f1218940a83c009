/**
 * @module `strato init [template] [dir]`: writes a built-in template's files to a folder, ready
 * for `strato deploy`; without a template, lists them. It needs no server: the catalogue is built in.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Command } from 'commander'
import { isStratoError } from '../core/index.js'
import { FUNCTION_TEMPLATES, fileBytes, functionTemplate } from '../templates/index.js'
import { UsageError } from './cli-context.js'
import { formatTable } from './format-table.js'

function listTemplates(): void {
  console.log(
    formatTable(
      ['TEMPLATE', 'RUNTIME', 'SCENE', 'TITLE'],
      FUNCTION_TEMPLATES.map((t) => [t.name, t.runtime, t.scene, t.title]),
    ),
  )
}

export function initCommand(): Command {
  return new Command('init')
    .description("write a template's files to a folder (no template: list the templates)")
    .argument('[template]', 'template name or id')
    .argument('[dir]', 'folder to write to (default: the template name)')
    .option('--force', 'overwrite files that exist')
    .action((name: string | undefined, dir: string | undefined, o: { force?: boolean }) => {
      if (name === undefined) {
        listTemplates()
        return
      }
      let t
      try {
        t = functionTemplate(name)
      } catch (err) {
        if (isStratoError(err, 'TEMPLATE_NOT_FOUND')) {
          throw new UsageError(err.message)
        }
        throw err
      }
      const target = path.resolve(dir ?? t.name)
      const executables = new Set(t.executables ?? [])
      const existing = Object.keys(t.files).filter((f) => fs.existsSync(path.join(target, f)))
      if (existing.length > 0 && o.force !== true) {
        throw new UsageError(
          `${existing.map((f) => path.join(target, f)).join(', ')} exist already (--force overwrites)`,
        )
      }
      for (const [rel, file] of Object.entries(t.files)) {
        const to = path.join(target, rel)
        fs.mkdirSync(path.dirname(to), { recursive: true })
        fs.writeFileSync(to, fileBytes(file), { mode: executables.has(rel) ? 0o755 : 0o644 })
      }
      console.log(`wrote ${Object.keys(t.files).length} files of ${t.name} to ${target}`)
      if (t.buildFirst !== undefined) {
        console.log(`build first: ${t.buildFirst}`)
        return
      }
      console.log(
        `deploy: strato deploy ${path.relative(process.cwd(), target) || '.'} -n <name> -r ${JSON.stringify(t.runtime)} -H ${t.handler} -t ${t.timeout} -m ${t.memorySize}`,
      )
    })
}
