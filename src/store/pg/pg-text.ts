/**
 * @module PostgreSQL `text` cannot hold U+0000 (the server rejects the whole statement), while a
 * JavaScript string can, and a function's output, error message or a user's input may carry one.
 * Every text value a PostgreSQL store binds from such a source goes through `pgText` first, so one
 * NUL never fails a batch, a group commit or a search.
 */

const NUL = '\u0000'
/** What a NUL is stored as: the replacement character, visibly "a character was here". */
const REPLACEMENT = '\uFFFD'

/** `value` with every U+0000 replaced by U+FFFD (the same string when it has none). */
export function pgText(value: string): string {
  return value.includes(NUL) ? value.replaceAll(NUL, REPLACEMENT) : value
}

/** `pgText` of a value that may be absent (absent stays absent). */
export function pgTextOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : pgText(value)
}
