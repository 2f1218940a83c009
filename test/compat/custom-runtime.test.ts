/**
 * The custom runtime (`runtime: "Custom"`, handler `bootstrap`) through the official Huawei SDK:
 * FunctionGraph's documented bash/curl bootstrap unchanged, shell bootstraps that fail in every
 * way a function can, several GET loops in one instance, an APIG trigger, and a Go binary built
 * here with the machine's `go` (standard library only) as a bootstrap, plus a Go `net/http`
 * server as an HTTP function.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import yazl from 'yazl'
import { b64 } from '../helpers/code.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { tmpDir } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato({ STRATO_GATEWAY_PORT: '0' })
let sdk: ReturnType<typeof sdkClient>

beforeAll(() => {
  sdk = sdkClient(strato.url)
})

/** FunctionGraph's documented bootstrap (reference §5.7), byte for byte. */
const DOCUMENTED_BOOTSTRAP = `#!/bin/sh
set -o pipefail
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" -X GET "http://$RUNTIME_API_ADDR/v1/runtime/invocation/request")
  REQUEST_ID=$(grep -Fi x-cff-request-id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  if [ -z "$REQUEST_ID" ]; then continue; fi
  RESPONSE="Echoing request: '$EVENT_DATA'"
  curl -X POST "http://$RUNTIME_API_ADDR/v1/runtime/invocation/response/$REQUEST_ID" -d "$RESPONSE"
done
`

/**
 * A bootstrap that acts on the event's `action`, so one function covers every way to misbehave.
 * It reads headers as the documented one does, and writes to stdout and stderr before answering.
 */
const ACTIONS_BOOTSTRAP = `#!/bin/bash
API="http://$RUNTIME_API_ADDR/v1/runtime/invocation"
echo "bootstrap starting with level $RUNTIME_LOG_LEVEL"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/request")
  ID=$(grep -Fi x-cff-request-id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  TYPE=$(grep -Fi x-cff-invoke-type "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  [ -z "$ID" ] && continue
  echo "stdout line of $ID"
  echo "stderr line of $ID" >&2
  case "$EVENT" in
    *'"fail"'*)
      curl -sS -o /dev/null "$API/error/$ID" -d '{"errorType":"ValidationError","errorMessage":"bad input"}' ;;
    *'"unknown-id"'*)
      CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/response/no-such-id" -d x)
      curl -sS "$API/response/$ID" -d "{\\"unknownIdStatus\\":$CODE}" ;;
    *'"big"'*)
      head -c 7000000 /dev/zero | tr '\\0' a | curl -sS -o /dev/null "$API/response/$ID" --data-binary @- ;;
    *'"sleep"'*)
      sleep 30 ;;
    *'"crash"'*)
      echo "about to crash"; exit 3 ;;
    *'"bomb"'*)
      exec python3 -c "b = b'x' * (400 << 20)" ;;
    *)
      BODY=$(printf '{"event":%s,"requestId":"%s","invokeType":"%s","fn":"%s","memory":"%s","timeout":"%s","codeRoot":"%s","level":"%s","stage":"%s","addr":"%s"}' \\
        "$EVENT" "$ID" "$TYPE" "$RUNTIME_FUNC_NAME" "$RUNTIME_MEMORY" "$RUNTIME_TIMEOUT" "$RUNTIME_CODE_ROOT" "$RUNTIME_LOG_LEVEL" "$STAGE" "$RUNTIME_API_ADDR")
      curl -sS "$API/response/$ID" -d "$BODY" ;;
  esac
done
`

/** A zip whose `executable` entries have mode 755, as `chmod +x` then `zip` makes them. */
async function zipWithModes(
  files: Record<string, string | Buffer>,
  executable: readonly string[] = ['bootstrap'],
): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, {
      mode: executable.includes(name) ? 0o100755 : 0o100644,
    })
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

interface DeployOptions {
  readonly runtime?: string
  readonly timeout?: number
  readonly memory?: number
  readonly userData?: Record<string, string>
}

async function deploy(name: string, zip: Buffer, o: DeployOptions = {}): Promise<string> {
  let body = new fg.CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage('default')
    .withRuntime(o.runtime ?? 'Custom')
    .withHandler('bootstrap')
    .withMemorySize(o.memory ?? 256)
    .withTimeout(o.timeout ?? 10)
    .withCodeType('zip')
    .withFuncCode(new fg.FuncCode().withFile(b64(zip)))
  if (o.userData !== undefined) {
    body = body.withUserData(JSON.stringify(o.userData))
  }
  const res = await sdk.createFunction(new fg.CreateFunctionRequest().withBody(body))
  expect(res.httpStatusCode).toBe(200)
  return String(res.func_urn)
}

interface Invoked {
  readonly status: number
  readonly result: string
  readonly log: string
  readonly requestId: string
}

async function invoke(urn: string, event: unknown): Promise<Invoked> {
  const res = await sdk.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCffLogType('tail')
      .withXCFFRequestVersion('v1')
      .withBody(event),
  )
  return {
    status: Number(res.status),
    result: String(res.result),
    log: String(res.log),
    requestId: String(res.request_id),
  }
}

function errorOf(r: Invoked): { errorType: string; errorMessage: string } {
  expect(r.status).toBe(500)
  return JSON.parse(r.result) as { errorType: string; errorMessage: string }
}

describe('custom runtime through the official SDK', () => {
  test("FunctionGraph's documented bash/curl bootstrap runs unmodified", async () => {
    const urn = await deploy('custom-doc', await zipWithModes({ bootstrap: DOCUMENTED_BOOTSTRAP }))
    const first = await invoke(urn, { hello: 'world' })
    expect(first.status).toBe(200)
    expect(first.result).toBe(`Echoing request: '{"hello":"world"}'`)
    const second = await invoke(urn, { n: 2 })
    expect(second.result).toBe(`Echoing request: '{"n":2}'`)
  })

  test('inline source (the console editor) is a bootstrap too: stored executable', async () => {
    const res = await sdk.createFunction(
      new fg.CreateFunctionRequest().withBody(
        new fg.CreateFunctionRequestBody()
          .withFuncName('custom-inline')
          .withPackage('default')
          .withRuntime('Custom')
          .withHandler('bootstrap')
          .withMemorySize(128)
          .withTimeout(10)
          .withCodeType('inline')
          .withFuncCode(new fg.FuncCode().withFile(b64(DOCUMENTED_BOOTSTRAP))),
      ),
    )
    expect(res.code_filename).toBe('bootstrap')
    const r = await invoke(String(res.func_urn), { inline: true })
    expect(r.result).toBe(`Echoing request: '{"inline":true}'`)
  })

  let actions = ''
  test('the bootstrap gets the event bytes, the request id and invoke type headers, and the runtime variables', async () => {
    actions = await deploy('custom-actions', await zipWithModes({ bootstrap: ACTIONS_BOOTSTRAP }), {
      timeout: 3,
      memory: 128,
      userData: { STAGE: 'test', RUNTIME_LOG_LEVEL: 'DEBUG' },
    })
    const event = { key: 'value', list: [1, 2, 3], nested: { a: 'b' } }
    const r = await invoke(actions, event)
    expect(r.status).toBe(200)
    const body = JSON.parse(r.result) as Record<string, unknown>
    expect(body).toMatchObject({
      event,
      requestId: r.requestId,
      invokeType: 'sync',
      fn: 'custom-actions',
      memory: '128',
      timeout: '3',
      codeRoot: '/opt/function/code',
      level: 'DEBUG',
      stage: 'test',
    })
    expect(body.addr).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  test("stdout and stderr are the invocation's log, each line in the invocation that wrote it", async () => {
    const a = await invoke(actions, { x: 1 })
    const b = await invoke(actions, { x: 2 })
    for (const [mine, other] of [
      [a, b],
      [b, a],
    ] as const) {
      expect(mine.log).toContain(`stdout line of ${mine.requestId}`)
      expect(mine.log).toContain(`stderr line of ${mine.requestId}`)
      expect(mine.log).not.toContain(other.requestId)
    }
  })

  test('POST .../error/{id} is a function error with its errorType; an unknown id gets a 404; the loop goes on', async () => {
    const err = errorOf(await invoke(actions, { action: 'fail' }))
    expect(err).toMatchObject({ errorType: 'ValidationError', errorMessage: 'bad input' })
    const r = await invoke(actions, { action: 'unknown-id' })
    expect(JSON.parse(r.result)).toEqual({ unknownIdStatus: 404 })
  })

  test('a response over 6 MiB is ResponseTooLarge, never a cut result', async () => {
    const err = errorOf(await invoke(actions, { action: 'big' }))
    expect(err.errorType).toBe('ResponseTooLarge')
    expect((await invoke(actions, { after: 'a big one' })).status).toBe(200)
  })

  test('past its timeout: TimeoutError, then a new instance answers', async () => {
    const started = Date.now()
    const err = errorOf(await invoke(actions, { action: 'sleep' }))
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(err.errorType).toBe('TimeoutError')
    expect((await invoke(actions, { after: 'a timeout' })).status).toBe(200)
  })

  test('a bootstrap that exits mid-invocation: RuntimeExitError with its exit code and its log; the next call works', async () => {
    const r = await invoke(actions, { action: 'crash' })
    const err = errorOf(r)
    expect(err.errorType).toBe('RuntimeExitError')
    expect(err.errorMessage).toContain('exit code 3')
    expect(r.log).toContain('about to crash')
    const next = await invoke(actions, { after: 'a crash' })
    expect(next.result).toContain('"after":"a crash"')
  })

  test('a memory bomb past memory_size is an OutOfMemoryError; the next call works', async () => {
    // Its own function: a loaded machine may take longer than the 3 s timeout to fill 128 MB.
    const bomb = await deploy('custom-bomb', await zipWithModes({ bootstrap: ACTIONS_BOOTSTRAP }), {
      timeout: 30,
      memory: 128,
    })
    const err = errorOf(await invoke(bomb, { action: 'bomb' }))
    expect(err.errorType).toBe('OutOfMemoryError')
    expect((await invoke(bomb, { after: 'a bomb' })).status).toBe(200)
  })

  test('a bootstrap without execute permission fails with BootstrapNotExecutable', async () => {
    const urn = await deploy(
      'custom-noexec',
      await zipWithModes({ bootstrap: DOCUMENTED_BOOTSTRAP }, []),
    )
    const err = errorOf(await invoke(urn, {}))
    expect(err.errorType).toBe('BootstrapNotExecutable')
    expect(err.errorMessage).toContain('chmod 755 bootstrap')
  })

  test('a bootstrap that exits before asking for an event: RuntimeStartFailed with its output', async () => {
    const urn = await deploy(
      'custom-early-exit',
      await zipWithModes({ bootstrap: '#!/bin/sh\necho "missing config file" >&2\nexit 4\n' }),
    )
    const err = errorOf(await invoke(urn, {}))
    expect(err.errorType).toBe('RuntimeStartFailed')
    expect(err.errorMessage).toContain('exited with code 4')
    expect(err.errorMessage).toContain('missing config file')
  })
})

test('concurrent_num 3: a bootstrap running three GET loops serves three slow calls at once on one instance; a fourth waits', async () => {
  const loops = `#!/bin/bash
API="http://$RUNTIME_API_ADDR/v1/runtime/invocation"
loop() {
  while true; do
    H="$(mktemp)"
    curl -sS -o /dev/null -D "$H" "$API/request"
    ID=$(grep -Fi x-cff-request-id "$H" | tr -d '[:space:]' | cut -d: -f2)
    rm -f "$H"
    [ -z "$ID" ] && continue
    sleep 1
    curl -sS "$API/response/$ID" -d "{\\"loop\\":$1,\\"instance\\":\\"$STRATO_INSTANCE_ID\\"}"
  done
}
for i in 1 2 3; do loop $i & done
wait
`
  await strato.client.createFunction({
    func_name: 'custom-loops',
    package: 'default',
    runtime: 'Custom',
    handler: 'bootstrap',
    memory_size: 256,
    timeout: 10,
    code_type: 'zip',
    func_code: { file: b64(await zipWithModes({ bootstrap: loops })) },
    strategy_config: { concurrency: 1, concurrent_num: 3 },
  })
  await strato.client.invoke('custom-loops', '{}') // warm
  const started = Date.now()
  const three = await Promise.all([1, 2, 3].map(() => strato.client.invoke('custom-loops', '{}')))
  expect(Date.now() - started).toBeLessThan(1900)
  const answers = three.map((r) => JSON.parse(r.result) as { loop: number; instance: string })
  expect(new Set(answers.map((a) => a.instance)).size).toBe(1)
  expect(new Set(answers.map((a) => a.loop))).toEqual(new Set([1, 2, 3]))
  const t4 = Date.now()
  const four = await Promise.all([1, 2, 3, 4].map(() => strato.client.invoke('custom-loops', '{}')))
  expect(Date.now() - t4).toBeGreaterThanOrEqual(1900)
  expect(four.every((r) => !r.isFunctionError)).toBe(true)
})

test('an APIG trigger invokes a custom runtime function, whose APIG-shaped answer is the HTTP response', async () => {
  const apig = `#!/bin/bash
API="http://$RUNTIME_API_ADDR/v1/runtime/invocation"
while true; do
  H="$(mktemp)"
  EVENT=$(curl -sS -D "$H" "$API/request")
  ID=$(grep -Fi x-cff-request-id "$H" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$H"
  [ -z "$ID" ] && continue
  P=$(printf '%s' "$EVENT" | grep -o '"path":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  curl -sS "$API/response/$ID" -d "{\\"statusCode\\":201,\\"headers\\":{\\"Content-Type\\":\\"text/plain\\"},\\"body\\":\\"custom saw $P\\",\\"isBase64Encoded\\":false}"
done
`
  const urn = await deploy('custom-apig', await zipWithModes({ bootstrap: apig }))
  const created = await sdk.createFunctionTrigger(
    new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
      new fg.CreateFunctionTriggerRequestBody()
        .withTriggerTypeCode('APIG')
        .withTriggerStatus('ACTIVE')
        .withEventData(
          new fg.TriggerEventDataRequestBody()
            .withName('custom_apig')
            .withPath('/custom')
            .withReqMethod('ANY')
            .withAuth('NONE')
            .withMatchMode('SWA')
            .withProtocol('HTTPS')
            .withEnvName('RELEASE')
            .withType(1)
            .withFuncInfo(
              new fg.ApigTriggerFuncInfo().withTimeout(10_000).withInvocationType('sync'),
            ),
        ),
    ),
  )
  expect(created.trigger_type_code).toBe('APIG')
  const res = await fetch(`${strato.running.gatewayUrl}/custom/hello`)
  expect(res.status).toBe(201)
  expect(res.headers.get('content-type')).toBe('text/plain')
  expect(await res.text()).toBe('custom saw /custom/hello')
})

// ---- Go ------------------------------------------------------------------------------------
const HAS_GO = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0
const NO_GO = ' — SKIPPED: no `go` toolchain on PATH (scripts/setup-system.sh installs golang-go)'
let goDir = ''
afterAll(() => {
  if (goDir !== '') {
    fs.rmSync(goDir, { recursive: true, force: true })
  }
})

/** Builds a static linux/amd64 binary from one file of standard-library Go (no modules here). */
function goBuild(name: string, source: string): Buffer {
  if (goDir === '') {
    goDir = tmpDir('strato-go-')
  }
  const dir = path.join(goDir, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'main.go'), source)
  const r = spawnSync('go', ['build', '-o', 'app', 'main.go'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: goDir,
      GO111MODULE: 'off',
      GOFLAGS: '',
      GOPATH: path.join(goDir, 'gopath'),
      GOCACHE: path.join(goDir, 'cache'),
      CGO_ENABLED: '0',
    },
  })
  if (r.status !== 0) {
    throw new Error(`go build failed: ${r.stderr}`)
  }
  return fs.readFileSync(path.join(dir, 'app'))
}

/** A custom runtime bootstrap in Go: the loop of FunctionGraph's Go example, standard library only. */
const GO_BOOTSTRAP = `package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	api := "http://" + os.Getenv("RUNTIME_API_ADDR") + "/v1/runtime/invocation"
	for {
		res, err := http.Get(api + "/request")
		if err != nil || res.StatusCode != 200 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		event, _ := io.ReadAll(res.Body)
		res.Body.Close()
		id := res.Header.Get("X-Cff-Request-Id")
		fmt.Printf("go got request %s\\n", id)
		var parsed map[string]interface{}
		json.Unmarshal(event, &parsed)
		out, _ := json.Marshal(map[string]interface{}{"lang": "go", "event": parsed, "requestId": id, "fn": os.Getenv("RUNTIME_FUNC_NAME")})
		ans, err := http.Post(api+"/response/"+id, "application/json", bytes.NewReader(out))
		if err == nil {
			ans.Body.Close()
		}
	}
}
`

/** A Go net/http server, as FunctionGraph's Go HTTP function samples are. */
const GO_HTTP_SERVER = `package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", "go")
		w.WriteHeader(202)
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "path": r.URL.Path, "q": r.URL.Query().Get("q"), "body": string(body), "requestId": r.Header.Get("x-cff-request-id")})
	})
	log.Println("go server listening")
	log.Fatal(http.ListenAndServe("127.0.0.1:8000", nil))
}
`

test.skipIf(!HAS_GO)(
  `a Go binary (built here, standard library only) is a custom runtime bootstrap${HAS_GO ? '' : NO_GO}`,
  async () => {
    const binary = goBuild('custom', GO_BOOTSTRAP)
    const urn = await deploy('custom-go', await zipWithModes({ bootstrap: binary }))
    const r = await invoke(urn, { from: 'sdk' })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.result)).toEqual({
      lang: 'go',
      event: { from: 'sdk' },
      requestId: r.requestId,
      fn: 'custom-go',
    })
    expect(r.log).toContain(`go got request ${r.requestId}`)
  },
  240_000,
)

test.skipIf(!HAS_GO)(
  `a Go net/http server (built here) runs as an HTTP function${HAS_GO ? '' : NO_GO}`,
  async () => {
    const binary = goBuild('http', GO_HTTP_SERVER)
    const urn = await deploy('go-http', await zipWithModes({ bootstrap: binary }), {
      runtime: 'http',
    })
    const r = await invoke(urn, {
      httpMethod: 'POST',
      path: '/things/7',
      queryStringParameters: { q: 'x' },
      headers: { 'content-type': 'text/plain' },
      body: 'payload',
    })
    expect(r.status).toBe(200)
    const wrapped = JSON.parse(r.result) as {
      statusCode: number
      headers: Record<string, string[]>
      body: string
    }
    expect(wrapped.statusCode).toBe(202)
    expect(wrapped.headers['X-Served-By']).toEqual(['go'])
    expect(JSON.parse(Buffer.from(wrapped.body, 'base64').toString('utf8'))).toEqual({
      method: 'POST',
      path: '/things/7',
      q: 'x',
      body: 'payload',
      requestId: r.requestId,
    })
    expect(r.log).toContain('go server listening')
  },
  240_000,
)
