/**
 * The Java family for the per-family bench: a hello function (Huawei's Context, JsonObject event)
 * compiled here with `javac` against Strato's runtime jar and Gson, uploaded as its JAR.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

const ROOT = path.resolve(import.meta.dirname, '../..')
const BUILD = path.join(ROOT, 'runtimes/java/build')
const SOURCE = `package bench;

import com.google.gson.JsonObject;
import com.huawei.services.runtime.Context;

public class Hello {
    public String handler(JsonObject event, Context context) {
        return "hello";
    }
}
`

export const family = {
  name: 'Java17',
  runtime: 'Java17',
  handler: 'bench.Hello.handler',
  zip: async (): Promise<Buffer> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-java-'))
    try {
      fs.mkdirSync(path.join(dir, 'src/bench'), { recursive: true })
      fs.writeFileSync(path.join(dir, 'src/bench/Hello.java'), SOURCE)
      const classpath = `${BUILD}/strato-java-runtime.jar:${BUILD}/gson.jar`
      await run('javac', ['-cp', classpath, '-d', `${dir}/classes`, `${dir}/src/bench/Hello.java`])
      await run('jar', ['--create', '--file', `${dir}/hello.jar`, '-C', `${dir}/classes`, '.'])
      return await fs.promises.readFile(path.join(dir, 'hello.jar'))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  },
}
