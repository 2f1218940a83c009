/**
 * @module A stand-in for a repository whose PostgreSQL implementation is not in this build yet
 * (logs, audit, usage, flows, the async queue): the store opens, and any use fails loudly with
 * the repository's name instead of reaching SQLite-only code.
 */
import { StratoError } from '../../core/index.js'

/** `T` whose every method throws `INTERNAL` naming `name`; awaiting it is harmless (no `then`). */
export function notYetOnPg<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      if (property === 'then' || typeof property === 'symbol') {
        return undefined
      }
      return () => {
        throw new StratoError(
          'INTERNAL',
          `${name}.${property} is not available on the PostgreSQL store yet.`,
        )
      }
    },
  })
}
