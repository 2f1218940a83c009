/**
 * PHP functions (PHP7.3, PHP8.3 on the machine's PHP CLI) through the official SDK: FunctionGraph's
 * handler contract, the context and its logger, exact per-invocation logs, initializer, failures
 * (exceptions, fatal errors, exit(), timeouts, memory), an APIG trigger, and a public sample.
 */
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { b64, zipDirectory, zipFiles } from '../helpers/code.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { REPO_ROOT } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato({ STRATO_GATEWAY_PORT: '0' })
let client: any

beforeAll(() => {
  client = sdkClient(strato.url)
})

interface PhpFunction {
  readonly runtime?: string
  readonly handler?: string
  readonly initializer?: string
  readonly memory?: number
  readonly timeout?: number
  readonly userData?: Record<string, string>
}

/** Creates a PHP function from its files through the SDK; returns its URN. */
async function createPhp(
  name: string,
  files: Record<string, string>,
  o: PhpFunction = {},
): Promise<string> {
  const body = new fg.CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage('default')
    .withRuntime(o.runtime ?? 'PHP8.3')
    .withHandler(o.handler ?? 'index.handler')
    .withMemorySize(o.memory ?? 128)
    .withTimeout(o.timeout ?? 10)
    .withCodeType('zip')
    .withFuncCode(new fg.FuncCode().withFile(b64(await zipFiles(files))))
  if (o.userData !== undefined) {
    body.withUserData(JSON.stringify(o.userData))
  }
  if (o.initializer !== undefined) {
    body.withInitializerHandler(o.initializer).withInitializerTimeout(10)
  }
  const res = await client.createFunction(new fg.CreateFunctionRequest().withBody(body))
  expect(res.runtime).toBe(o.runtime ?? 'PHP8.3')
  return res.func_urn as string
}

interface Invocation {
  readonly status: number
  readonly result: string
  readonly log: string
  readonly requestId: string
}

/** A v1 invocation with the log tail, as the console's test button makes it. */
async function invoke(urn: string, event: unknown): Promise<Invocation> {
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCffLogType('tail')
      .withXCFFRequestVersion('v1')
      .withBody(event),
  )
  return { status: res.status, result: res.result, log: res.log, requestId: res.request_id }
}

const errorOf = (
  r: Invocation,
): { errorType: string; errorMessage: string; stackTrace: string[] } => JSON.parse(r.result)

describe('PHP functions through the official SDK', () => {
  test('hello and event echo: the event is an object as in FunctionGraph, the result JSON; one long-lived process serves every call', async () => {
    const urn = await createPhp('php-echo', {
      'index.php': `<?php
$calls = 0;
function handler($event, $context) {
    global $calls;
    $calls++;
    return ['hello' => $event->name ?? 'world', 'event' => $event, 'isObject' => is_object($event),
            'calls' => $calls, 'instance' => $context->getInstanceID(), 'php' => PHP_MAJOR_VERSION];
}`,
    })
    const first = await invoke(urn, { name: 'strato', nested: { a: [1, 2, {}] }, empty: {} })
    expect(first.status).toBe(200)
    const r1 = JSON.parse(first.result)
    expect(r1).toMatchObject({
      hello: 'strato',
      event: { name: 'strato', nested: { a: [1, 2, {}] }, empty: {} },
      isObject: true,
      calls: 1,
      php: 8,
    })
    // Empty JSON objects stay objects through json_encode (an array would come back as []).
    expect(first.result).toContain('"empty":{}')
    const second = JSON.parse((await invoke(urn, {})).result)
    expect(second).toMatchObject({ hello: 'world', calls: 2, instance: r1.instance })
  })

  test('PHP7.3 runs on the same PHP and a subfolder handler (src/app.main) loads; a string result is text', async () => {
    const urn = await createPhp(
      'php73',
      { 'src/app.php': `<?php function main($event, $context) { return "v" . PHP_VERSION; }` },
      { runtime: 'PHP7.3', handler: 'src/app.main' },
    )
    const res = await invoke(urn, {})
    expect(res.result).toMatch(/^v8\.\d+\.\d+/)
  })

  test('the context has the Node.js getters, with the function identity, user data and limits', async () => {
    const urn = await createPhp(
      'php-context',
      {
        'index.php': `<?php
function handler($event, $context) {
    $names = ['getRequestID', 'getFunctionName', 'getVersion', 'getMemorySize', 'getCPUNumber',
              'getProjectID', 'getPackage', 'getAlias', 'getRunningTimeInSeconds', 'getAccessKey',
              'getSecretKey', 'getSecurityAccessKey', 'getSecuritySecretKey', 'getSecurityToken',
              'getToken', 'getWorkflowID', 'getWorkflowRunID', 'getWorkflowStateID'];
    $out = [];
    foreach ($names as $n) { $out[$n] = $context->$n(); }
    $out['remaining'] = $context->getRemainingTimeInMilliSeconds();
    $out['stage'] = $context->getUserData('STAGE');
    $out['missing'] = $context->getUserData('NOPE', 'dflt');
    $out['env'] = getenv('STAGE');
    $out['memoryLimit'] = ini_get('memory_limit');
    $out['cwd'] = getcwd();
    return $out;
}`,
      },
      { memory: 256, timeout: 7, userData: { STAGE: 'prod' } },
    )
    const res = await invoke(urn, {})
    const ctx = JSON.parse(res.result)
    expect(ctx).toMatchObject({
      getRequestID: res.requestId,
      getFunctionName: 'php-context',
      getVersion: 'latest',
      getMemorySize: '256',
      getPackage: 'default',
      getAlias: '',
      getRunningTimeInSeconds: 7000,
      getAccessKey: '',
      getToken: '',
      stage: 'prod',
      missing: 'dflt',
      env: 'prod',
      memoryLimit: '192M',
      cwd: '/opt/function/code',
    })
    expect(ctx.getProjectID).toMatch(/^[0-9a-f]{32}$/)
    expect(Number(ctx.getCPUNumber)).toBeGreaterThan(0)
    expect(ctx.remaining).toBeGreaterThan(5000)
    expect(ctx.remaining).toBeLessThanOrEqual(7000)
  })

  test('echo, print, printf, STDERR, error_log() and the logger land in their own invocation log, in order, at RUNTIME_LOG_LEVEL', async () => {
    const urn = await createPhp(
      'php-logs',
      {
        'index.php': `<?php
function handler($event, $context) {
    $tag = $event->tag;
    echo "echo $tag\\n";
    print("print $tag\\n");
    printf("printf %s\\n", $tag);
    fwrite(STDERR, "stderr $tag\\n");
    error_log("error_log $tag");
    file_put_contents('php://stdout', "stdout-stream $tag\\n");
    $logger = $context->getLogger();
    $logger->debug("debug $tag");
    $logger->info("info $tag");
    $logger->warn("warn %s", $tag);
    $logger->error("error $tag");
    system("echo child $tag");
    ob_start();
    echo "buffered $tag\\n"; // left open: it still belongs to this invocation
    return $tag;
}`,
      },
      { userData: { RUNTIME_LOG_LEVEL: 'debug' } },
    )
    for (const tag of ['one', 'two']) {
      const res = await invoke(urn, { tag })
      expect(res.result).toBe(tag)
      const lines = res.log.split('\n')
      const body = lines.filter((l) => l.includes(tag))
      const ts = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
      expect(body.map((l) => l.replace(new RegExp(`^${ts} ${res.requestId} `), ''))).toEqual([
        `echo ${tag}`,
        `print ${tag}`,
        `printf ${tag}`,
        `stderr ${tag}`,
        `error_log ${tag}`,
        `stdout-stream ${tag}`,
        `DEBUG debug ${tag}`,
        `INFO info ${tag}`,
        `WARN warn ${tag}`,
        `ERROR error ${tag}`,
        `child ${tag}`,
        `buffered ${tag}`,
      ])
      // Nothing of the other invocation leaked in.
      expect(res.log).not.toContain(tag === 'one' ? 'two' : 'one')
    }
  })

  test('the logger starts at INFO without RUNTIME_LOG_LEVEL; setLevel moves it', async () => {
    const urn = await createPhp('php-log-level', {
      'index.php': `<?php
function handler($event, $context) {
    $l = $context->getLogger();
    $l->debug('hidden debug');
    $l->info('shown info');
    $l->setLevel('ERROR');
    $l->warn('hidden warn');
    $l->error('shown error');
    return 'ok';
}`,
    })
    const res = await invoke(urn, {})
    expect(res.log).toContain('INFO shown info')
    expect(res.log).toContain('ERROR shown error')
    expect(res.log).not.toContain('hidden')
  })

  test('the initializer runs once per instance before the first request, with the context', async () => {
    const urn = await createPhp(
      'php-init',
      {
        'index.php': `<?php
$state = [];
function initializer($context) {
    global $state;
    $state[] = 'init:' . $context->getFunctionName();
    $context->getLogger()->info('initialising');
    echo "init output\\n";
}
function handler($event, $context) {
    global $state;
    $state[] = 'call';
    return $state;
}`,
      },
      { initializer: 'index.initializer' },
    )
    const first = await invoke(urn, {})
    expect(JSON.parse(first.result)).toEqual(['init:php-init', 'call'])
    expect(first.log).toContain('INFO initialising')
    expect(first.log).toContain('init output')
    expect(JSON.parse((await invoke(urn, {})).result)).toEqual(['init:php-init', 'call', 'call'])
  })

  test('an initializer that throws fails the invocation with its error', async () => {
    const urn = await createPhp(
      'php-init-fails',
      {
        'index.php': `<?php
function initializer($context) { throw new RuntimeException('no database'); }
function handler($event, $context) { return 'never'; }`,
      },
      { initializer: 'index.initializer' },
    )
    const res = await invoke(urn, {})
    expect(res.result).toContain('no database')
    expect(res.result).not.toContain('never')
  })

  test('errors: an exception has its class, message and trace; a missing file is ImportModuleError, a missing function HandlerNotFound', async () => {
    const urn = await createPhp('php-throws', {
      'index.php': `<?php
class QuotaExceeded extends RuntimeException {}
function check($n) { throw new QuotaExceeded("quota of $n exceeded"); }
function handler($event, $context) { check(3); }`,
    })
    const thrown = errorOf(await invoke(urn, {}))
    expect(thrown.errorType).toBe('QuotaExceeded')
    expect(thrown.errorMessage).toBe('quota of 3 exceeded')
    expect(thrown.stackTrace.join('\n')).toMatch(/index\.php\(3\)[\s\S]*check\(3\)/)

    // The code store refuses a handler file the code lacks; an initializer's is found at load.
    const noFile = await createPhp(
      'php-no-file',
      { 'index.php': '<?php function handler($e, $c) {}' },
      { initializer: 'lib/setup.init' },
    )
    const importError = errorOf(await invoke(noFile, {}))
    expect(importError.errorType).toBe('ImportModuleError')
    expect(importError.errorMessage).toContain("Cannot find module 'lib/setup'")
    const noFn = await createPhp('php-no-fn', { 'index.php': '<?php function other() {}' })
    const missing = errorOf(await invoke(noFn, {}))
    expect(missing.errorType).toBe('HandlerNotFound')
    expect(missing.errorMessage).toContain("'index.handler'")
    const syntax = await createPhp('php-syntax', { 'index.php': '<?php function handler( {' })
    expect(errorOf(await invoke(syntax, {})).errorType).toBe('ParseError')
  })

  test('a PHP fatal error fails the invocation with its message and the next call gets a new instance', async () => {
    const urn = await createPhp('php-fatal', {
      'index.php': `<?php
function handler($event, $context) {
    if ($event->fatal ?? false) { echo "before\\n"; trigger_error('cannot go on', E_USER_ERROR); }
    return 'instance ' . $context->getInstanceID();
}`,
    })
    const before = await invoke(urn, {})
    const res = await invoke(urn, { fatal: true })
    const err = errorOf(res)
    expect(err.errorType).toBe('FatalError')
    expect(err.errorMessage).toBe('cannot go on')
    expect(err.stackTrace[0]).toMatch(/index\.php\(3\)$/)
    expect(res.log).toContain('before')
    const after = await invoke(urn, {})
    expect(after.result).toMatch(/^instance [0-9a-f-]{36}$/)
    expect(after.result).not.toBe(before.result)
  })

  test('exit() during an invocation is a RuntimeExitError with its code; its output is kept; the function recovers', async () => {
    const urn = await createPhp('php-exit', {
      'index.php': `<?php
function handler($event, $context) {
    if ($event->exit ?? false) { echo "leaving\\n"; exit(3); }
    return 'fine';
}`,
    })
    expect((await invoke(urn, {})).result).toBe('fine')
    const res = await invoke(urn, { exit: true })
    const err = errorOf(res)
    expect(err.errorType).toBe('RuntimeExitError')
    expect(err.errorMessage).toContain('exit code 3')
    expect(res.log).toContain('leaving')
    expect((await invoke(urn, {})).result).toBe('fine')
  })

  test('a handler past its timeout is a TimeoutError; a new instance answers next', async () => {
    const urn = await createPhp(
      'php-timeout',
      {
        'index.php': `<?php
function handler($event, $context) {
    if ($event->hang ?? false) { echo "hanging\\n"; sleep(30); }
    return 'fine';
}`,
      },
      { timeout: 3 },
    )
    const started = Date.now()
    const res = await invoke(urn, { hang: true })
    expect(errorOf(res).errorType).toBe('TimeoutError')
    expect(Date.now() - started).toBeLessThan(7000)
    expect(res.log).toContain('hanging')
    expect((await invoke(urn, {})).result).toBe('fine')
  })

  test('memory: past memory_limit is an OutOfMemoryError from PHP; past memory_size (no limit) the sandbox stops it (cgroup, or the address-space limit without one); both recover', async () => {
    const urn = await createPhp(
      'php-memory',
      {
        'index.php': `<?php
function handler($event, $context) {
    if (($event->bomb ?? '') === 'unlimited') { ini_set('memory_limit', '-1'); }
    if (($event->bomb ?? '') !== '') { $a = []; for (;;) { $a[] = str_repeat('x', 1 << 20); } }
    return 'fine';
}`,
      },
      { memory: 128 },
    )
    const limited = errorOf(await invoke(urn, { bomb: 'limit' }))
    expect(limited.errorType).toBe('OutOfMemoryError')
    expect(limited.errorMessage).toMatch(/^Allowed memory size of \d+ bytes exhausted/)
    expect((await invoke(urn, {})).result).toBe('fine')
    expect(errorOf(await invoke(urn, { bomb: 'unlimited' })).errorType).toBe('OutOfMemoryError')
    expect((await invoke(urn, {})).result).toBe('fine')
  })

  test('a result over 6 MiB is ResponseTooLarge; an unserialisable one ResultSerializationError; a non-JSON event 400 FSS.0400', async () => {
    const urn = await createPhp('php-results', {
      'index.php': `<?php
function handler($event, $context) {
    if ($event->big ?? false) { return str_repeat('x', 7 * 1024 * 1024); }
    if ($event->inf ?? false) { return ['n' => INF]; }
    return 'fine';
}`,
    })
    expect(errorOf(await invoke(urn, { big: true })).errorType).toBe('ResponseTooLarge')
    expect(errorOf(await invoke(urn, { inf: true })).errorType).toBe('ResultSerializationError')
    const name = urn.split(':').slice(-2, -1)[0] ?? ''
    const bad = await strato.client.invoke(name, '{not json').catch((e: unknown) => e)
    expect((bad as { errorCode?: string }).errorCode).toBe('FSS.0400')
    expect((await invoke(urn, {})).result).toBe('fine')
  })

  test('an APIG trigger invokes a PHP function with the APIG event and answers its response', async () => {
    const urn = await createPhp('php-apig', {
      'index.php': `<?php
function handler($event, $context) {
    $body = $event->isBase64Encoded ? base64_decode($event->body) : $event->body;
    return [
        'statusCode' => 201,
        'headers' => ['Content-Type' => 'application/json', 'X-Php' => PHP_VERSION],
        'isBase64Encoded' => false,
        'body' => json_encode(['method' => $event->httpMethod, 'path' => $event->path,
                               'q' => $event->queryStringParameters->q ?? null, 'body' => $body]),
    ];
}`,
    })
    const created = await client.createFunctionTrigger(
      new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
        new fg.CreateFunctionTriggerRequestBody()
          .withTriggerTypeCode('APIG')
          .withTriggerStatus('ACTIVE')
          .withEventData(
            new fg.TriggerEventDataRequestBody()
              .withName('php_api')
              .withPath('/php/hello')
              .withReqMethod('ANY')
              .withAuth('NONE')
              .withMatchMode('NORMAL')
              .withProtocol('HTTPS')
              .withEnvName('RELEASE')
              .withType(1)
              .withFuncInfo(
                new fg.ApigTriggerFuncInfo().withTimeout(10_000).withInvocationType('sync'),
              ),
          ),
      ),
    )
    expect(created.httpStatusCode).toBe(201)
    const res = await fetch(`${strato.running.gatewayUrl}/php/hello?q=x`, {
      method: 'POST',
      body: 'hi there',
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-php')).toMatch(/^8\./)
    expect(await res.json()).toEqual({
      method: 'POST',
      path: '/php/hello',
      q: 'x',
      body: 'hi there',
    })
  })

  test("FunctionGraph's public PHP sample (deploy-from-zip) deploys and runs unmodified", async () => {
    const dir = path.join(REPO_ROOT, 'test/fixtures/functions/php-otc-sample')
    const urn = await createPhp(
      'php-otc-sample',
      { 'index.php': fs.readFileSync(path.join(dir, 'index.php'), 'utf8') },
      { initializer: 'index.initializer', userData: { RUNTIME_LOG_LEVEL: 'DEBUG' } },
    )
    const res = await invoke(urn, { key: 'value' })
    expect(JSON.parse(res.result)).toEqual({
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      isBase64Encoded: false,
      body: '{"key":"value"}',
    })
    expect(res.log).toContain('DEBUG Initializer called for function: php-otc-sample')
    expect(res.log).toContain(`${res.requestId} INFO Function name: php-otc-sample`)
    expect(res.log).toContain(`${res.requestId} INFO Key value from event: value`)
  })

  test("FunctionGraph's public PHP HTTP-function sample (scratch-http) runs on FunctionGraph's PHP path unmodified", async () => {
    const zip = await zipDirectory(
      path.join(REPO_ROOT, 'test/fixtures/functions/php-otc-http-sample'),
    )
    const res = await client.createFunction(
      new fg.CreateFunctionRequest().withBody(
        new fg.CreateFunctionRequestBody()
          .withFuncName('php-http-sample')
          .withPackage('default')
          .withRuntime('http')
          .withHandler('bootstrap')
          .withMemorySize(256)
          .withTimeout(10)
          .withUserData(JSON.stringify({ USER_DATA: 'visible' }))
          .withCodeType('zip')
          .withFuncCode(new fg.FuncCode().withFile(b64(zip))),
      ),
    )
    const call = async (event: unknown): Promise<{ statusCode: number; body: string }> => {
      const r = await invoke(res.func_urn as string, event)
      const wrapped = JSON.parse(r.result)
      return {
        statusCode: wrapped.statusCode,
        body: Buffer.from(wrapped.body, 'base64').toString(),
      }
    }
    const hello = await call({
      httpMethod: 'GET',
      path: '/',
      queryStringParameters: { name: 'Strato' },
      headers: {},
    })
    expect(hello.statusCode).toBe(200)
    expect(JSON.parse(hello.body)).toEqual({
      message: 'Hello, Strato!',
      user_data: 'visible',
      secret_user_data: null,
    })
    const posted = await call({ httpMethod: 'POST', path: '/', headers: {}, body: 'ping' })
    expect(posted).toEqual({ statusCode: 200, body: 'ping' })
    expect((await call({ httpMethod: 'GET', path: '/nope', headers: {} })).statusCode).toBe(404)
  })

  test('an attached dependency joins include_path: require of vendor/autoload.php finds it', async () => {
    const dep = await client.createDependencyVersion(
      new fg.CreateDependencyVersionRequest().withBody(
        new fg.CreateDependencyRequestBody()
          .withName('php-greeter')
          .withRuntime('PHP8.3')
          .withDependType('zip')
          .withDependFile(
            b64(
              await zipFiles({
                'vendor/autoload.php': '<?php require __DIR__ . "/greeter/greet.php";',
                'vendor/greeter/greet.php': '<?php function greet($n) { return "Hello, $n!"; }',
              }),
            ),
          ),
      ),
    )
    const files = {
      'index.php': `<?php
require_once 'vendor/autoload.php';
function handler($event, $context) { return greet($event->name); }`,
    }
    const urn = await createPhp('php-with-dep', files)
    // Without the dependency the file is not there.
    expect(errorOf(await invoke(urn, { name: 'PHP' })).errorMessage).toContain(
      "Failed opening required 'vendor/autoload.php'",
    )
    await client.updateFunctionCode(
      new fg.UpdateFunctionCodeRequest().withFunctionUrn(urn).withBody(
        new fg.UpdateFunctionCodeRequestBody()
          .withCodeType('zip')
          .withCodeFilename('code.zip')
          .withFuncCode(new fg.FuncCode().withFile(b64(await zipFiles(files))))
          .withDependVersionList([dep.id]),
      ),
    )
    expect((await invoke(urn, { name: 'PHP' })).result).toBe('Hello, PHP!')
  })

  test('one invocation at a time per instance whatever concurrent_num asks: simultaneous calls scale out', async () => {
    await strato.client.createFunction({
      func_name: 'php-concurrent',
      package: 'default',
      runtime: 'PHP8.3',
      handler: 'index.handler',
      memory_size: 128,
      timeout: 10,
      code_type: 'inline',
      func_code: {
        file: b64('<?php function handler($e, $c) { usleep(400000); return $c->getInstanceID(); }'),
      },
      strategy_config: { concurrency: 3, concurrent_num: 10 },
    })
    await strato.client.invoke('php-concurrent', '{}')
    const three = await Promise.all(
      [1, 2, 3].map(() => strato.client.invoke('php-concurrent', '{}')),
    )
    expect(three.every((r) => !r.isFunctionError)).toBe(true)
    expect(new Set(three.map((r) => r.result)).size).toBe(3)
  })

  test("an invocation's output is capped at 1 MiB with a marker; the next starts afresh", async () => {
    const urn = await createPhp('php-flood', {
      'index.php': `<?php
function handler($event, $context) {
    if ($event->flood ?? false) { for ($i = 0; $i < 1500; $i++) { echo str_repeat('y', 1023), "\n"; } }
    echo "after\n";
    return 'done';
}`,
    })
    const flooded = await invoke(urn, { flood: true })
    expect(flooded.result).toBe('done')
    expect(flooded.log).toContain('[log truncated: the limit is 1048576 bytes per invocation]')
    expect(flooded.log).not.toContain('after')
    const next = await invoke(urn, {})
    expect(next.log).toContain('after')
    expect(next.log).not.toContain('yyyy')
  })
})
