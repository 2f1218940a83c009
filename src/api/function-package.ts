/**
 * @module The package `GET …/export` writes and `POST /fgs/functions/import` reads: a zip with
 * `strato-function.json` (configuration, versions, aliases, triggers, async configs, tags) and each
 * distinct code package once, as `code/<digest>.zip`. FunctionGraph does not publish its own
 * format, so this is Strato's (docs/sdk-interpretations.md).
 */
import yauzl from 'yauzl'
import yazl from 'yazl'
import { StratoError } from '../core/index.js'
import { parseJsonBody } from './json-body.js'

export const PACKAGE_FORMAT = 'strato-function/1'
export const MANIFEST_NAME = 'strato-function.json'

/** One state of the function: `latest` or a published version. */
export interface PackagedState {
  /** The create/update-config body that gives this configuration (secrets opened). */
  readonly config: Record<string, unknown>
  readonly codeType: string
  readonly codeFilename: string
  /** The code package's entry in the zip (`code/<digest>.zip`), or undefined if not exported. */
  readonly code: string | undefined
}

export interface PackagedVersion extends PackagedState {
  readonly name: string
  readonly description: string
}

export interface PackagedTrigger {
  /** `latest`, a version, or `!alias`. */
  readonly qualifier: string
  readonly typeCode: string
  readonly eventTypeCode: string
  readonly status: string
  readonly eventData: Record<string, unknown>
}

export interface PackagedAsyncConfig {
  readonly qualifier: string
  readonly body: Record<string, unknown>
}

export interface FunctionPackageManifest {
  readonly format: typeof PACKAGE_FORMAT
  readonly exportedAt: string
  readonly name: string
  readonly packageName: string
  readonly latest: PackagedState
  /** In publication order. */
  readonly versions: readonly PackagedVersion[]
  /** Alias create bodies (`name`, `version`, weights, strategy), in creation order. */
  readonly aliases: ReadonlyArray<Record<string, unknown>>
  readonly triggers: readonly PackagedTrigger[]
  readonly asyncConfigs: readonly PackagedAsyncConfig[]
  readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }>
}

/** A fixed entry time: the same function exports to the same bytes. */
const ENTRY_TIME = new Date('2026-01-01T00:00:00Z')

export async function writeFunctionPackage(
  manifest: FunctionPackageManifest,
  code: ReadonlyMap<string, Buffer>,
): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), MANIFEST_NAME, {
    mtime: ENTRY_TIME,
  })
  for (const [name, bytes] of code) {
    // Code packages are zips already: stored, not compressed again.
    zip.addBuffer(bytes, name, { mtime: ENTRY_TIME, compress: false })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function invalid(detail: string): StratoError {
  return new StratoError('INVALID_FUNCTION_PACKAGE', detail)
}

/** Every entry of a zip, each at most `maxEntryBytes` unzipped (checked before reading it). */
export function readZipEntries(zip: Buffer, maxEntryBytes: number): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err !== null) {
        reject(invalid(`The package is not a zip: ${err.message}.`))
        return
      }
      const entries = new Map<string, Buffer>()
      file.on('error', (e: Error) => reject(invalid(`The package cannot be read: ${e.message}.`)))
      file.on('end', () => resolve(entries))
      file.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          file.readEntry()
          return
        }
        if (entry.uncompressedSize > maxEntryBytes) {
          file.close()
          reject(
            invalid(
              `${entry.fileName} is ${entry.uncompressedSize} bytes unzipped; the limit is ${maxEntryBytes}.`,
            ),
          )
          return
        }
        file.openReadStream(entry, (e, stream) => {
          if (e !== null) {
            reject(invalid(`${entry.fileName} cannot be read: ${e.message}.`))
            return
          }
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('error', (se: Error) => reject(invalid(`${entry.fileName}: ${se.message}.`)))
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks))
            file.readEntry()
          })
        })
      })
      file.readEntry()
    })
  })
}

/** The manifest of a package, checked for the fields import relies on. */
export function parseManifest(entries: ReadonlyMap<string, Buffer>): FunctionPackageManifest {
  const raw = entries.get(MANIFEST_NAME)
  if (raw === undefined) {
    throw invalid(
      `The zip has no ${MANIFEST_NAME}: import takes the package GET …/export writes (or with type=config only, no code).`,
    )
  }
  let m: unknown
  try {
    // As a management body: its strings go to the same tables.
    m = parseJsonBody(raw.toString('utf8'), MANIFEST_NAME)
  } catch (err) {
    throw invalid((err as Error).message)
  }
  const o = m as Partial<FunctionPackageManifest> | null
  if (o === null || typeof o !== 'object' || o.format !== PACKAGE_FORMAT) {
    throw invalid(`${MANIFEST_NAME} is not of format ${PACKAGE_FORMAT}.`)
  }
  if (
    typeof o.latest !== 'object' ||
    !Array.isArray(o.versions) ||
    !Array.isArray(o.aliases) ||
    !Array.isArray(o.triggers) ||
    !Array.isArray(o.asyncConfigs) ||
    !Array.isArray(o.tags)
  ) {
    throw invalid(
      `${MANIFEST_NAME} lacks latest, versions, aliases, triggers, asyncConfigs or tags.`,
    )
  }
  const states: Array<[string, PackagedState]> = [
    ['latest', o.latest],
    ...(o.versions as PackagedVersion[]).map((v): [string, PackagedState] => [
      `version ${String(v.name)}`,
      v,
    ]),
  ]
  for (const [what, state] of states) {
    if (state.code === undefined || !entries.has(state.code)) {
      throw invalid(`The package has no code for ${what} (exported without code?).`)
    }
  }
  return o as FunctionPackageManifest
}
