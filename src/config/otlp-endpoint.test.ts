import { expect, test } from 'vitest'
import { loadConfig } from './load-config.js'

test('config: STRATO_OTLP_ENDPOINT is an http(s) base URL without its trailing slash; unset, no tracing', () => {
  expect(loadConfig({}).otlpEndpoint).toBeUndefined()
  expect(loadConfig({ STRATO_OTLP_ENDPOINT: '' }).otlpEndpoint).toBeUndefined()
  expect(loadConfig({ STRATO_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).otlpEndpoint).toBe(
    'http://127.0.0.1:4318',
  )
  expect(loadConfig({ STRATO_OTLP_ENDPOINT: 'https://otel.example/base' }).otlpEndpoint).toBe(
    'https://otel.example/base',
  )
  for (const bad of ['127.0.0.1:4318', 'grpc://127.0.0.1:4317', 'not a url']) {
    expect(() => loadConfig({ STRATO_OTLP_ENDPOINT: bad }), bad).toThrow('STRATO_OTLP_ENDPOINT')
  }
})
