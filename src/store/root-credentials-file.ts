/**
 * @module The root tenant's generated credentials as shell `export` lines: shown once at the first
 * start and saved to `<data dir>/root-credentials.env` (mode 0600) before the tenant is committed,
 * so a start that fails later, or a lost terminal, never loses them.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { BootstrapOutcome } from '../core/index.js'

export const ROOT_CREDENTIALS_FILE = 'root-credentials.env'

/** A value as one shell word: as is when it is safe bare, else single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_.:/@%+,=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

/**
 * `export NAME=value` lines for what the first start made up (the endpoint and project id always),
 * ready to paste into a shell. A key pair given in the settings is not repeated: its owner has it.
 */
export function formatCredentialExports(
  outcome: BootstrapOutcome,
  endpoint: string | undefined,
): string[] {
  const pairs: Array<[string, string]> = []
  if (endpoint !== undefined) {
    pairs.push(['STRATO_ENDPOINT', endpoint])
  }
  pairs.push(['STRATO_PROJECT_ID', outcome.keys.projectId])
  if (outcome.generated) {
    pairs.push(['STRATO_ACCESS_KEY', outcome.keys.accessKey])
    pairs.push(['STRATO_SECRET_KEY', outcome.keys.secretKey])
  }
  return pairs.map(([name, value]) => `export ${name}=${shellWord(value)}`)
}

/**
 * Writes the export lines to `<dataDir>/root-credentials.env`, readable by the owner only, and
 * returns its path. Replaces a file left by an earlier root tenant of a since-emptied data dir.
 */
export function writeRootCredentialsFile(
  dataDir: string,
  outcome: BootstrapOutcome,
  endpoint: string | undefined,
): string {
  const file = path.join(dataDir, ROOT_CREDENTIALS_FILE)
  const partial = `${file}.${process.pid}.tmp`
  const text = [
    '# Strato root tenant, created on first start. Load with: . ' + shellWord(file),
    ...formatCredentialExports(outcome, endpoint),
    '',
  ].join('\n')
  // Written whole under another name, then renamed: never a half-written file, never world-readable.
  fs.rmSync(partial, { force: true })
  const fd = fs.openSync(partial, 'wx', 0o600)
  try {
    fs.writeSync(fd, text)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(partial, file)
  return file
}
