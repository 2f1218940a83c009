/**
 * @module Functions for a trigger: a timer job, an API behind APIG, a RabbitMQ consumer. Each
 * names the trigger it is meant for (`trigger_metadata_list`), with event_data to start from.
 */
import type { FunctionTemplate } from './template-types.js'

export const TRIGGER_TEMPLATES: readonly FunctionTemplate[] = [
  {
    id: '5f0c1a52-0201-4a6e-9b51-74696d657220',
    name: 'timer-job',
    title: 'Scheduled job (timer trigger, Node.js)',
    description: 'Runs on a schedule: logs the trigger it was fired by and its user_event.',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    timeout: 30,
    memorySize: 128,
    scene: 'timer',
    service: 'Timer',
    files: {
      'index.js': `// A timer trigger's event: { version, time, trigger_type: 'TIMER', trigger_name, user_event }.
exports.handler = async (event, context) => {
  const logger = context.getLogger()
  logger.info(\`\${event.trigger_name || 'manual run'} fired at \${event.time || new Date().toISOString()}\`)
  // The job's work goes here; user_event carries what the trigger was created with.
  return { ran: true, trigger: event.trigger_name || null, user_event: event.user_event || '' }
}
`,
    },
    triggers: [
      {
        triggerName: 'every-minute',
        triggerType: 'TIMER',
        eventType: 'TIMER',
        eventData: {
          name: 'every-minute',
          schedule_type: 'Rate',
          schedule: '1m',
          user_event: 'tick',
        },
      },
    ],
    example: {
      input:
        '{"version":"v1.0","time":"2026-01-01T00:00:00+00:00","trigger_type":"TIMER","trigger_name":"every-minute","user_event":"tick"}',
      output: '{"ran":true,"trigger":"every-minute","user_event":"tick"}',
    },
  },
  {
    id: '5f0c1a52-0202-4a6e-9b51-617069672020',
    name: 'apig-api',
    title: 'API behind APIG (Node.js)',
    description:
      'Answers an APIG request with the APIG response shape (statusCode, headers, body, isBase64Encoded).',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    timeout: 10,
    memorySize: 128,
    scene: 'apig',
    service: 'APIG',
    files: {
      'index.js': `// An APIG event: { httpMethod, path, pathParameters, queryStringParameters, headers, body,
// isBase64Encoded, requestContext }. The answer must be APIG's response shape.
exports.handler = async (event, context) => {
  const query = event.queryStringParameters || {}
  const body = {
    message: \`Hello, \${query.name || 'world'}!\`,
    method: event.httpMethod,
    path: event.path,
    request_id: context.getRequestID(),
  }
  return {
    statusCode: 200,
    isBase64Encoded: false,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }
}
`,
    },
    triggers: [
      {
        triggerName: 'api',
        triggerType: 'APIG',
        eventType: 'APIG',
        eventData: {
          name: 'api',
          path: '/hello',
          protocol: 'HTTPS',
          req_method: 'ANY',
          auth: 'NONE',
          match_mode: 'SWA',
          env_name: 'RELEASE',
          type: 1,
          group_id: 'strato',
          func_info: { timeout: 5000 },
        },
      },
    ],
    example: {
      input:
        '{"httpMethod":"GET","path":"/hello","queryStringParameters":{"name":"Strato"},"headers":{},"body":"","isBase64Encoded":false}',
      output:
        '{"statusCode":200,"isBase64Encoded":false,"headers":{"Content-Type":"application/json"},"body":"{\\"message\\":\\"Hello, Strato!\\",…}"}',
    },
  },
  {
    id: '5f0c1a52-0203-4a6e-9b51-7261626269746d',
    name: 'rabbitmq-consumer',
    title: 'RabbitMQ consumer (Node.js)',
    description:
      'Consumes batches of messages from a RabbitMQ exchange: parses each message as JSON when it can.',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    timeout: 30,
    memorySize: 128,
    scene: 'rabbitmq',
    service: 'RabbitMQ',
    files: {
      'index.js': `// A RabbitMQ trigger's event: { event_version, event_time, trigger_type: 'RABBITMQ', region,
// instance_id, records: [{ messages: [text, …], exchange_name, vhost }] }.
exports.handler = async (event, context) => {
  const logger = context.getLogger()
  let count = 0
  for (const record of event.records || []) {
    for (const text of record.messages || []) {
      let message = text
      try {
        message = JSON.parse(text)
      } catch {
        // not JSON: kept as text
      }
      logger.info(\`\${record.exchange_name}: \${JSON.stringify(message)}\`)
      count++
    }
  }
  // Throwing here would make the batch count as failed (it is retried as the trigger says).
  return { consumed: count }
}
`,
    },
    triggers: [
      {
        triggerName: 'orders',
        triggerType: 'RABBITMQ',
        eventType: 'RABBITMQ',
        eventData: {
          connect_address: '127.0.0.1:5672',
          exchange_name: 'orders',
          vhost: '/',
          access_user: 'guest',
          access_password: 'guest',
          batch_size: 10,
        },
      },
    ],
    example: {
      input:
        '{"event_version":"v1.0","trigger_type":"RABBITMQ","records":[{"messages":["{\\"id\\":1}"],"exchange_name":"orders","vhost":"/"}]}',
      output: '{"consumed":1}',
    },
  },
]
