/**
 * @module Hello world in each runtime family Strato runs: the smallest function of each language,
 * written as FunctionGraph's own samples are.
 */
import type { FunctionTemplate } from './template-types.js'

const GREETING_EXAMPLE = { input: '{"name":"Strato"}', output: 'Hello, Strato!' }

const JAVA_SOURCE = `package hello;

import com.google.gson.JsonObject;
import com.huawei.services.runtime.Context;

/** FunctionGraph's Java hello world: handler hello.HelloWorld.handler. */
public class HelloWorld {
    public String handler(JsonObject event, Context context) {
        String name = event.has("name") ? event.get("name").getAsString() : "world";
        context.getLogger().log("greeting " + name);
        return "Hello, " + name + "!";
    }
}
`

/**
 * HelloWorld.java above, compiled with `javac --release 8` against runtimes/java/build's
 * runtime and Gson jars, so a function starts from the template without a JDK at hand.
 */
const JAVA_CLASS_BASE64 =
  'yv66vgAAADQAQgoAAgADBwAEDAAFAAYBABBqYXZhL2xhbmcvT2JqZWN0AQAGPGluaXQ+AQADKClWCAAIAQAEbmFtZQoACgALBwAMDAANAA4BABpjb20vZ29vZ2xlL2dzb24vSnNvbk9iamVjdAEAA2hhcwEAFShMamF2YS9sYW5nL1N0cmluZzspWgoACgAQDAARABIBAANnZXQBADEoTGphdmEvbGFuZy9TdHJpbmc7KUxjb20vZ29vZ2xlL2dzb24vSnNvbkVsZW1lbnQ7CgAUABUHABYMABcAGAEAG2NvbS9nb29nbGUvZ3Nvbi9Kc29uRWxlbWVudAEAC2dldEFzU3RyaW5nAQAUKClMamF2YS9sYW5nL1N0cmluZzsIABoBAAV3b3JsZAsAHAAdBwAeDAAfACABACNjb20vaHVhd2VpL3NlcnZpY2VzL3J1bnRpbWUvQ29udGV4dAEACWdldExvZ2dlcgEALSgpTGNvbS9odWF3ZWkvc2VydmljZXMvcnVudGltZS9SdW50aW1lTG9nZ2VyOwcAIgEAF2phdmEvbGFuZy9TdHJpbmdCdWlsZGVyCgAhAAMIACUBAAlncmVldGluZyAKACEAJwwAKAApAQAGYXBwZW5kAQAtKExqYXZhL2xhbmcvU3RyaW5nOylMamF2YS9sYW5nL1N0cmluZ0J1aWxkZXI7CgAhACsMACwAGAEACHRvU3RyaW5nCwAuAC8HADAMADEAMgEAKWNvbS9odWF3ZWkvc2VydmljZXMvcnVudGltZS9SdW50aW1lTG9nZ2VyAQADbG9nAQAVKExqYXZhL2xhbmcvU3RyaW5nOylWCAA0AQAHSGVsbG8sIAgANgEAASEHADgBABBoZWxsby9IZWxsb1dvcmxkAQAEQ29kZQEAD0xpbmVOdW1iZXJUYWJsZQEAB2hhbmRsZXIBAFUoTGNvbS9nb29nbGUvZ3Nvbi9Kc29uT2JqZWN0O0xjb20vaHVhd2VpL3NlcnZpY2VzL3J1bnRpbWUvQ29udGV4dDspTGphdmEvbGFuZy9TdHJpbmc7AQANU3RhY2tNYXBUYWJsZQcAPwEAEGphdmEvbGFuZy9TdHJpbmcBAApTb3VyY2VGaWxlAQAPSGVsbG9Xb3JsZC5qYXZhACEANwACAAAAAAACAAEABQAGAAEAOQAAAB0AAQABAAAABSq3AAGxAAAAAQA6AAAABgABAAAABwABADsAPAABADkAAAB8AAMABAAAAE8rEge2AAmZAA8rEge2AA+2ABOnAAUSGU4suQAbAQC7ACFZtwAjEiS2ACYttgAmtgAquQAtAgC7ACFZtwAjEjO2ACYttgAmEjW2ACa2ACqwAAAAAgA6AAAADgADAAAACQAYAAoANgALAD0AAAAHAAIVQQcAPgABAEAAAAACAEE='

const GO_SOURCE = `// FunctionGraph's Go hello world. Build it with FunctionGraph's Go runtime library
// (go get github.com/huaweicloud/huaweicloud-functiongraph-go-runtime) and deploy the executable:
//   GOOS=linux GOARCH=amd64 go build -o handler main.go && zip code.zip handler
package main

import (
	"encoding/json"
	"fmt"

	"huaweicloud.com/go-runtime/go-api/context"
	"huaweicloud.com/go-runtime/pkg/runtime"
)

type event struct {
	Name string \`json:"name"\`
}

func handler(payload []byte, ctx context.RuntimeContext) (interface{}, error) {
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, err
	}
	if e.Name == "" {
		e.Name = "world"
	}
	ctx.GetLogger().Logf("greeting %s", e.Name)
	return fmt.Sprintf("Hello, %s!", e.Name), nil
}

func main() {
	runtime.Register(handler)
}
`

const CUSTOM_BOOTSTRAP = `#!/bin/sh
# FunctionGraph's custom runtime: this bootstrap asks the runtime API for the next event and posts
# the answer back, for ever. Any language works the same way; this one is plain sh and curl.
set -o pipefail
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" -X GET "http://$RUNTIME_API_ADDR/v1/runtime/invocation/request")
  REQUEST_ID=$(grep -Fi x-cff-request-id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  if [ -z "$REQUEST_ID" ]; then continue; fi
  curl -sS -X POST "http://$RUNTIME_API_ADDR/v1/runtime/invocation/response/$REQUEST_ID" -d "Hello from a custom runtime! You sent: $EVENT_DATA"
done
`

export const HELLO_WORLD_TEMPLATES: readonly FunctionTemplate[] = [
  {
    id: '5f0c1a52-0001-4a6e-9b51-6e6f64656a73',
    name: 'nodejs-hello-world',
    title: 'Hello world (Node.js)',
    description: 'The smallest Node.js function: greets the name in the event.',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    timeout: 3,
    memorySize: 128,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: {
      'index.js': `exports.handler = async (event, context) => {
  const name = typeof event.name === 'string' ? event.name : 'world'
  context.getLogger().info(\`greeting \${name}\`)
  return \`Hello, \${name}!\`
}
`,
    },
    triggers: [],
    example: GREETING_EXAMPLE,
  },
  {
    id: '5f0c1a52-0002-4a6e-9b51-707974686f6e',
    name: 'python-hello-world',
    title: 'Hello world (Python)',
    description: 'The smallest Python function: greets the name in the event.',
    runtime: 'Python3.10',
    handler: 'index.handler',
    timeout: 3,
    memorySize: 128,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: {
      'index.py': `def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    context.getLogger().info("greeting " + name)
    return "Hello, " + name + "!"
`,
    },
    triggers: [],
    example: GREETING_EXAMPLE,
  },
  {
    id: '5f0c1a52-0003-4a6e-9b51-6a6176612020',
    name: 'java-hello-world',
    title: 'Hello world (Java)',
    description: 'A Java class with a handler method, compiled; its source is beside it.',
    runtime: 'Java17',
    handler: 'hello.HelloWorld.handler',
    timeout: 15,
    memorySize: 256,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: {
      'hello/HelloWorld.class': { base64: JAVA_CLASS_BASE64 },
      'src/hello/HelloWorld.java': JAVA_SOURCE,
    },
    triggers: [],
    example: GREETING_EXAMPLE,
  },
  {
    id: '5f0c1a52-0004-4a6e-9b51-676f20202020',
    name: 'go-hello-world',
    title: 'Hello world (Go)',
    description: 'A Go handler registered with FunctionGraph’s Go runtime library (source only).',
    runtime: 'Go1.x',
    handler: 'handler',
    timeout: 3,
    memorySize: 128,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: { 'main.go': GO_SOURCE },
    triggers: [],
    example: GREETING_EXAMPLE,
    buildFirst:
      'a Go function is an executable built with FunctionGraph’s Go runtime library, which Strato cannot ship: run `strato init go-hello-world`, build it as main.go says, and deploy the zip',
  },
  {
    id: '5f0c1a52-0005-4a6e-9b51-706870202020',
    name: 'php-hello-world',
    title: 'Hello world (PHP)',
    description: 'The smallest PHP function: greets the name in the event.',
    runtime: 'PHP8.3',
    handler: 'index.handler',
    timeout: 3,
    memorySize: 128,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: {
      'index.php': `<?php
function handler($event, $context) {
    // The event is a JSON object: an array or an object, as the handler decodes it.
    $name = 'world';
    if (is_array($event) && isset($event['name'])) {
        $name = $event['name'];
    } elseif (is_object($event) && isset($event->name)) {
        $name = $event->name;
    }
    $context->getLogger()->info('greeting ' . $name);
    return 'Hello, ' . $name . '!';
}
`,
    },
    triggers: [],
    example: GREETING_EXAMPLE,
  },
  {
    id: '5f0c1a52-0006-4a6e-9b51-637573746f6d',
    name: 'custom-hello-world',
    title: 'Hello world (custom runtime)',
    description: 'A custom runtime bootstrap in sh and curl that answers every event.',
    runtime: 'Custom',
    handler: 'bootstrap',
    timeout: 3,
    memorySize: 128,
    scene: 'hello-world',
    service: 'FunctionGraph',
    files: { bootstrap: CUSTOM_BOOTSTRAP },
    executables: ['bootstrap'],
    triggers: [],
    example: {
      input: '{"name":"Strato"}',
      output: 'Hello from a custom runtime! You sent: {"name":"Strato"}',
    },
  },
]
