/**
 * `RUNTIME_LOG_LEVEL` (a `user_data` variable, as FunctionGraph's public samples set it) decides
 * which lines `context.getLogger()` writes, in the Node.js and the Python runtime alike: DEBUG <
 * INFO < WARN < ERROR, INFO when unset; `setLevel` still moves one logger.
 */
import { describe, expect, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()
const { client } = strato

// Logs once at each level, then (with `setLevel` from the event) once more at DEBUG.
const SOURCES = {
  'Node.js20.15': `exports.handler = async (event, context) => {
  const log = context.getLogger()
  log.debug('line at debug')
  log.info('line at info')
  log.warn('line at warn')
  log.error('line at error')
  if (event.setLevel) {
    log.setLevel(event.setLevel)
    log.debug('debug after setLevel')
  }
  return 'done'
}
`,
  'Python3.10': `def handler(event, context):
    log = context.getLogger()
    log.debug("line at debug")
    log.info("line at info")
    log.warning("line at warn")
    log.error("line at error")
    if event.get("setLevel"):
        log.setLevel(event["setLevel"])
        log.debug("debug after setLevel")
    return "done"
`,
} as const

const ALL = ['debug', 'info', 'warn', 'error'] as const

async function logOf(name: string, event: Record<string, unknown> = {}): Promise<string> {
  const res = await client.invoke(name, JSON.stringify(event))
  expect(res.isFunctionError).toBe(false)
  expect(res.result).toBe('done')
  const page = await client.logs(name, { request_id: res.requestId })
  const logs = page.logs as Array<{ log: string }>
  expect(logs).toHaveLength(1)
  return logs[0]?.log ?? ''
}

function levelsIn(log: string): string[] {
  return ALL.filter((level) => log.includes(`line at ${level}`))
}

describe.each(Object.entries(SOURCES))(
  '%s: context.getLogger() honours RUNTIME_LOG_LEVEL',
  (runtime, source) => {
    const base = runtime.startsWith('Node') ? 'loglevel-node' : 'loglevel-py'

    test.each([
      ['DEBUG', ['debug', 'info', 'warn', 'error']],
      ['WARN', ['warn', 'error']],
      ['error', ['error']],
      ['unset', ['info', 'warn', 'error']],
    ] as const)('RUNTIME_LOG_LEVEL %s', async (level, expected) => {
      const name = `${base}-${level.toLowerCase()}`
      await client.createFunction(
        inlineFunction(name, source, {
          runtime,
          ...(level === 'unset' ? {} : { user_data: JSON.stringify({ RUNTIME_LOG_LEVEL: level }) }),
        }),
      )
      const log = await logOf(name)
      expect(levelsIn(log)).toEqual(expected)
      // The line format is the contract's: <ISO time> <request id> <LEVEL> <message>.
      expect(log).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f-]{36} ERROR line at error/)
      // setLevel moves this invocation's logger, after lines at the default level were written.
      const moved = await logOf(name, { setLevel: 'DEBUG' })
      expect(moved).toContain('debug after setLevel')
      // ... and only that one: the next invocation starts at RUNTIME_LOG_LEVEL again.
      expect(levelsIn(await logOf(name))).toEqual(expected)
    })
  },
)

test('RUNTIME_LOG_LEVEL is accepted as user_data; the platform variables are still refused', async () => {
  const err = await client
    .createFunction(
      inlineFunction('loglevel-reserved', SOURCES['Node.js20.15'], {
        user_data: JSON.stringify({ RUNTIME_LOG_LEVEL: 'DEBUG', RUNTIME_HANDLER: 'x.y' }),
      }),
    )
    .catch((e: unknown) => e as { errorCode: string; message: string })
  expect(err).toMatchObject({ errorCode: 'FSS.1009' })
  expect((err as { message: string }).message).toContain('RUNTIME_HANDLER')
})
