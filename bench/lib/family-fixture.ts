/**
 * What a runtime family gives the per-family bench (`bench/families.ts`): one module per family in
 * `bench/families/`, each exporting `family`, a hello function whose answer contains `hello`.
 */
import yazl from 'yazl'

export interface FamilyFixture {
  /** Its name in the report (`Node.js`, `Java17`, …). */
  readonly name: string
  /** The FunctionGraph runtime the function is created with. */
  readonly runtime: string
  readonly handler: string
  /** The code package as uploaded (`code_type: zip`); resolves `undefined` when it cannot be built here (a missing compiler), with the reason in `skipReason`. */
  zip(): Promise<Buffer | undefined>
  /** Why `zip()` gave nothing, once it did. */
  skipReason?(): string
  /** What the invoke's `result` contains when the function answered (default `hello`). */
  readonly answerContains?: string
}

/** A ZIP of `files` (`[content, unix mode]` for an executable). */
export async function zipOf(
  files: Record<string, string | Buffer | [string | Buffer, number]>,
): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, entry] of Object.entries(files)) {
    const [content, mode] = Array.isArray(entry) ? entry : [entry, 0o100644]
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { mode })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}
