/**
 * @module `strato export <name> [-o file]` and `strato import <file> -n <name>`: a function with
 * its versions, aliases, triggers, async configs and tags as one zip, to another Strato or back.
 */
import fs from 'node:fs'
import { Command } from 'commander'
import { UsageError, type CliContext } from './cli-context.js'

export function transferCommands(ctx: CliContext): Command[] {
  const exportCommand = new Command('export')
    .description('write a function (code, config, versions, aliases, triggers) to a zip')
    .argument('<name>', 'function name or URN')
    .option('-o, --output <file>', 'zip to write (default: <name>.zip)')
    .option('--code-only', 'only the code package')
    .option('--config-only', 'only the configuration (cannot be imported)')
    .action(
      async (
        name: string,
        o: { output?: string; codeOnly?: boolean; configOnly?: boolean },
      ): Promise<void> => {
        if (o.codeOnly === true && o.configOnly === true) {
          throw new UsageError('--code-only and --config-only exclude each other')
        }
        const type = o.codeOnly === true ? 'code' : o.configOnly === true ? 'config' : undefined
        const zip = await ctx.client().exportFunction(name, type)
        const file = o.output ?? `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.zip`
        fs.writeFileSync(file, zip)
        console.log(`wrote ${file} (${zip.length} bytes)`)
      },
    )
  const importCommand = new Command('import')
    .description('create a function from a zip written by `strato export`')
    .argument('<file>', 'the export zip')
    .requiredOption('-n, --name <name>', 'name of the new function')
    .option('--package <package>', 'package (default: the exported one)')
    .action(async (file: string, o: { name: string; package?: string }): Promise<void> => {
      let zip: Buffer
      try {
        zip = fs.readFileSync(file)
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
      }
      const fn = await ctx.client().importFunction(o.name, zip, {
        ...(o.package === undefined ? {} : { packageName: o.package }),
      })
      console.log(`imported ${String(fn.func_urn)}`)
    })
  return [exportCommand, importCommand]
}
