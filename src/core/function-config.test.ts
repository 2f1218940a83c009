import { describe, expect, test } from 'vitest'
import { StratoError } from './errors.js'
import {
  functionEgressOf,
  imageOverridesOf,
  parseCodeInput,
  parseFunctionConfig,
  validateFunctionName,
} from './function-config.js'
import { validateUserData } from './function-environment.js'

const base = { runtime: 'Python3.10', handler: 'index.handler', memory_size: 128, timeout: 3 }

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return err instanceof StratoError ? err.spec.fss : 'not a StratoError'
  }
}

describe('function configuration validation', () => {
  test('accepts FunctionGraph boundary values', () => {
    expect(validateFunctionName('a')).toBe('a')
    expect(validateFunctionName(`a${'b'.repeat(59)}`)).toHaveLength(60)
    const cfg = parseFunctionConfig({
      ...base,
      timeout: 259200,
      memory_size: 10240,
      initializer_handler: 'index.init',
      initializer_timeout: 300,
    })
    expect(cfg).toMatchObject({
      timeoutS: 259200,
      memorySizeMb: 10240,
      initializerTimeoutS: 300,
      maxInstances: 400,
      concurrentNum: 1,
    })
  })

  test.each([
    ['name ending with -', () => validateFunctionName('abc-'), 'FSS.1002'],
    ['name with a dot', () => validateFunctionName('a.b'), 'FSS.1002'],
    ['timeout as string', () => parseFunctionConfig({ ...base, timeout: '3' }), 'FSS.1008'],
    ['fractional memory', () => parseFunctionConfig({ ...base, memory_size: 128.5 }), 'FSS.1007'],
    [
      'absolute handler',
      () => parseFunctionConfig({ ...base, handler: '/etc/passwd.x' }),
      'FSS.1003',
    ],
    [
      '.. in handler',
      () => parseFunctionConfig({ ...base, handler: 'a/../b.handler' }),
      'FSS.1003',
    ],
    [
      'handler too long',
      () => parseFunctionConfig({ ...base, handler: `${'a'.repeat(128)}.h` }),
      'FSS.1003',
    ],
    ['RUNTIME_FUNC_NAME key', () => validateUserData('{"RUNTIME_FUNC_NAME":"x"}'), 'FSS.1009'],
    ['RUNTIME_API_ADDR key', () => validateUserData('{"RUNTIME_API_ADDR":"x"}'), 'FSS.1009'],
    [
      'RUNTIME_MAX_RESP_BODY_SIZE key',
      () => validateUserData('{"RUNTIME_MAX_RESP_BODY_SIZE":"1"}'),
      'FSS.1009',
    ],
    ['STRATO_ key', () => validateUserData('{"STRATO_MAX_LOG_BYTES":"1"}'), 'FSS.1009'],
    ['TMPDIR key', () => validateUserData('{"TMPDIR":"/"}'), 'FSS.1009'],
    ['bad env name', () => validateUserData('{"1A":"1"}'), 'FSS.1009'],
    ['array user_data', () => validateUserData('[]'), 'FSS.1009'],
    [
      'concurrent_num 0',
      () => parseFunctionConfig({ ...base, strategy_config: { concurrent_num: 0 } }),
      'FSS.0400',
    ],
  ])('refuses %s', (_what, fn, code) => {
    expect(codeOf(fn)).toBe(code)
  })

  test("RUNTIME_ names outside the platform's own are the function's (RUNTIME_LOG_LEVEL)", () => {
    const data = '{"RUNTIME_LOG_LEVEL":"DEBUG","RUNTIME_CUSTOM":"x"}'
    expect(validateUserData(data)).toBe(data)
    expect(validateUserData(data, 'encrypted_user_data', true)).toBe(data)
  })

  test("a custom runtime function's handler is 'bootstrap', its executable, and nothing else", () => {
    const custom = { ...base, runtime: 'Custom' }
    expect(parseFunctionConfig({ ...custom, handler: 'bootstrap' }).handler).toBe('bootstrap')
    expect(codeOf(() => parseFunctionConfig({ ...custom, handler: 'index.handler' }))).toBe(
      'FSS.1003',
    )
    expect(codeOf(() => parseFunctionConfig({ ...custom, handler: 'bin/bootstrap' }))).toBe(
      'FSS.1003',
    )
  })

  test('a missing or mistyped field is named as such, not as an invalid value', () => {
    const message = (fn: () => unknown): string => {
      try {
        fn()
      } catch (err) {
        return err instanceof StratoError ? `${err.spec.fss} ${err.message}` : 'not a StratoError'
      }
      return 'accepted'
    }
    const noRuntime = { ...base, runtime: undefined }
    const noMemory = { ...base, memory_size: undefined }
    const noTimeout = { ...base, timeout: undefined }
    expect(message(() => parseFunctionConfig(noRuntime))).toBe("FSS.1005 'runtime' is required.")
    expect(message(() => parseFunctionConfig({ ...base, runtime: 10 }))).toBe(
      "FSS.1005 'runtime' must be a string, got 10.",
    )
    expect(message(() => parseFunctionConfig(noMemory))).toBe("FSS.1007 'memory_size' is required.")
    expect(message(() => parseFunctionConfig(noTimeout))).toBe("FSS.1008 'timeout' is required.")
    expect(message(() => validateFunctionName(123))).toBe(
      "FSS.1002 'func_name' must be a string, got 123.",
    )
    expect(message(() => validateFunctionName(undefined))).toBe("FSS.1002 'func_name' is required.")
  })

  test('an update keeps optional fields that the body leaves out', () => {
    const first = parseFunctionConfig({
      ...base,
      user_data: '{"A":"1"}',
      description: 'd',
      strategy_config: { concurrency: 5 },
    })
    const next = parseFunctionConfig({ ...base, memory_size: 256 }, first)
    expect(next).toMatchObject({
      userData: '{"A":"1"}',
      description: 'd',
      maxInstances: 5,
      memorySizeMb: 256,
    })
  })

  test('code input: base64 is checked and code types are explained', () => {
    expect(
      codeOf(() =>
        parseCodeInput({ code_type: 'inline', func_code: { file: 'not base64!' } }, 'Python3.10'),
      ),
    ).toBe('FSS.1011')
    expect(
      codeOf(() => parseCodeInput({ code_type: 'obs', func_code: { file: 'AA==' } }, 'Python3.10')),
    ).toBe('FSS.1006')
    expect(
      parseCodeInput(
        { code_type: 'inline', func_code: { file: 'aGk=' } },
        'Python3.10',
      ).bytes.toString(),
    ).toBe('hi')
  })
})

test('custom_image: command and args split at commas, working_dir kept; nothing when disabled or absent', () => {
  const extra = (custom_image: unknown): { extra: Record<string, unknown> } => ({
    extra: { custom_image },
  })
  expect(
    imageOverridesOf(
      extra({ enabled: true, command: '/bin/sh', args: '-c,echo hi', working_dir: '/srv' }),
    ),
  ).toEqual({ command: ['/bin/sh'], args: ['-c', 'echo hi'], workingDir: '/srv' })
  expect(imageOverridesOf(extra({ enabled: true, image: 'swr.example.com/a:1' }))).toEqual({})
  expect(imageOverridesOf(extra({ enabled: false, command: '/bin/sh' }))).toEqual({})
  expect(imageOverridesOf(extra({ enabled: true, command: 7, args: '' }))).toEqual({})
  expect(imageOverridesOf({ extra: {} })).toEqual({})
})

test('code input of a Custom Image: code_type may be left out, Custom-Image-Swr or zip; inline is refused, as is an image for another runtime', () => {
  const file = { func_code: { file: 'AA==' } }
  expect(parseCodeInput(file, 'Custom Image').codeType).toBe('Custom-Image-Swr')
  expect(parseCodeInput({ ...file, code_type: 'zip' }, 'Custom Image').codeType).toBe('zip')
  expect(codeOf(() => parseCodeInput({ ...file, code_type: 'inline' }, 'Custom Image'))).toBe(
    'FSS.1006',
  )
  expect(
    codeOf(() => parseCodeInput({ ...file, code_type: 'Custom-Image-Swr' }, 'Node.js20.15')),
  ).toBe('FSS.1006')
  expect(
    codeOf(() =>
      parseCodeInput(
        { custom_image: { enabled: true, image: 'swr.example.com/a:1' } },
        'Custom Image',
      ),
    ),
  ).toBe('FSS.1006')
})

test('egress: the outside by default, none with disable_public_network, a named network with func_vpc', () => {
  const of = (extra: Record<string, unknown>): ReturnType<typeof functionEgressOf> =>
    functionEgressOf({ extra })
  expect(of({})).toEqual({ kind: 'internet' })
  expect(of({ network_controller: { disable_public_network: false } })).toEqual({
    kind: 'internet',
  })
  expect(of({ network_controller: { disable_public_network: true } })).toEqual({ kind: 'none' })
  expect(of({ func_vpc: { vpc_id: 'db', subnet_id: 'db-subnet' } })).toEqual({
    kind: 'network',
    name: 'db',
  })
  expect(of({ func_vpc: { vpc_id: '' } })).toEqual({ kind: 'internet' })
})

test('network_controller.disable_public_network is a boolean or refused, naming the field', () => {
  for (const bad of ['true', 1, null, {}]) {
    const err = (() => {
      try {
        parseFunctionConfig({ ...base, network_controller: { disable_public_network: bad } })
      } catch (e) {
        return e as StratoError
      }
      return undefined
    })()
    expect(err?.spec.fss).toBe('FSS.0400')
    expect(err?.message).toContain('network_controller.disable_public_network')
  }
  expect(codeOf(() => parseFunctionConfig({ ...base, network_controller: 'off' }))).toBe('FSS.0400')
  const closed = parseFunctionConfig({
    ...base,
    network_controller: { disable_public_network: true },
  })
  expect(functionEgressOf(closed)).toEqual({ kind: 'none' })
})
