/**
 * One Strato shared by the tests of a file, without the `beforeAll`/`afterAll` pair each file
 * would otherwise repeat.
 */
import { afterAll, beforeAll } from 'vitest'
import { StratoClient } from '../../src/client/index.js'
import type { RunningStrato } from '../../src/main.js'
import { startTestStrato, type TestStrato } from './strato.js'

/** The file's Strato. Its fields are there once `beforeAll` has run: in tests and later hooks. */
export interface SharedStrato {
  readonly url: string
  readonly dataDir: string
  readonly running: RunningStrato
  /**
   * A client that may be taken at module level (`const { client } = strato`): each call goes to
   * the running Strato's own client.
   */
  readonly client: StratoClient
}

/**
 * Starts a Strato with `startTestStrato(env)` in `beforeAll` and closes it (removing its data dir)
 * in `afterAll`. Call it at the top of a test file (or a `describe`); hooks registered after it
 * run after the Strato started and before it closes.
 *
 * @example
 * const strato = useStrato({ STRATO_ASYNC_POLL_MS: '20' })
 * const { client } = strato
 * test('…', async () => { await client.invoke('f', '{}') })
 */
export function useStrato(env: Record<string, string> = {}): SharedStrato {
  let current: TestStrato | undefined
  beforeAll(async () => {
    current = await startTestStrato(env)
  })
  afterAll(async () => {
    const closing = current
    current = undefined
    await closing?.close()
  })
  const started = (): TestStrato => {
    if (current === undefined) {
      throw new Error('useStrato: no Strato is running here (only in tests and hooks after it)')
    }
    return current
  }
  // The client exists before the Strato does (its URL, port 0, is known only once it listens),
  // so it stands in for the running one: a prototype of StratoClient for `instanceof`, and every
  // property read from the running client, methods bound to it.
  const client = new Proxy(Object.create(StratoClient.prototype) as StratoClient, {
    get(_target, key) {
      const running = started().client
      const value: unknown = Reflect.get(running, key)
      return typeof value === 'function' ? (value as () => unknown).bind(running) : value
    },
  })
  return {
    get url() {
      return started().url
    },
    get dataDir() {
      return started().dataDir
    },
    get running() {
      return started().running
    },
    client,
  }
}
