/**
 * @module HTTP functions (`runtime: "http"`) in the style of Express, Koa and Flask. A function
 * downloads nothing, so each ships a small router of its own written on the standard library
 * (node:http, Python's http.server), with the same shape of app code as the framework: swap in the
 * real framework by adding it to the package (node_modules/, or python/ for Flask).
 */
import type { FunctionTemplate } from './template-types.js'

const ROUTE_EXAMPLE = {
  input: '{"httpMethod":"GET","path":"/hello/strato","headers":{},"body":""}',
  output:
    '{"statusCode":200,"body":"{\\"hello\\":\\"strato\\"}"} (body base64 in the wrapped answer)',
}

const MINI_EXPRESS = `// mini-express.js: the part of Express this app uses (routing, req.params, req.query, res.json),
// on plain node:http. It is not Express; replace require('./mini-express') with require('express')
// once express is in node_modules/ of the package.
'use strict'
const http = require('node:http')

function compile(pattern) {
  const names = []
  const source = pattern.replace(/:([A-Za-z_]\\w*)/g, (_m, name) => {
    names.push(name)
    return '([^/]+)'
  })
  return { regexp: new RegExp('^' + source + '/?$'), names }
}

module.exports = function miniExpress() {
  const routes = []
  const add = (method) => (pattern, handler) => routes.push({ method, ...compile(pattern), handler })
  const app = {
    get: add('GET'),
    post: add('POST'),
    put: add('PUT'),
    delete: add('DELETE'),
    listen(port, host, ready) {
      return http.createServer((req, res) => dispatch(req, res)).listen(port, host, ready)
    },
  }
  function dispatch(req, res) {
    const url = new URL(req.url, 'http://localhost')
    req.path = url.pathname
    req.query = Object.fromEntries(url.searchParams)
    req.get = (name) => req.headers[name.toLowerCase()]
    res.status = (code) => ((res.statusCode = code), res)
    res.json = (value) => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify(value))
    }
    res.send = (body) => res.end(typeof body === 'string' ? body : JSON.stringify(body))
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      req.body = Buffer.concat(chunks).toString('utf8')
      for (const r of routes) {
        const m = r.method === req.method && r.regexp.exec(req.path)
        if (m) {
          req.params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]))
          return r.handler(req, res)
        }
      }
      res.status(404).json({ error: 'not found', path: req.path })
    })
  }
  return app
}
`

const MINI_KOA = `// mini-koa.js: the part of Koa this app uses (async middleware composed with next(), ctx.body,
// ctx.status, ctx.set), on plain node:http. It is not Koa; replace require('./mini-koa') with
// require('koa') once koa is in node_modules/ of the package.
'use strict'
const http = require('node:http')

module.exports = class MiniKoa {
  constructor() {
    this.middleware = []
  }
  use(fn) {
    this.middleware.push(fn)
    return this
  }
  listen(port, host, ready) {
    return http.createServer((req, res) => this.handle(req, res)).listen(port, host, ready)
  }
  async handle(req, res) {
    const url = new URL(req.url, 'http://localhost')
    const ctx = {
      req,
      res,
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 404,
      body: undefined,
      get: (name) => req.headers[name.toLowerCase()] || '',
      set: (name, value) => res.setHeader(name, value),
    }
    const run = (i) => (i < this.middleware.length ? this.middleware[i](ctx, () => run(i + 1)) : Promise.resolve())
    try {
      await run(0)
    } catch (err) {
      ctx.status = 500
      ctx.body = { error: String(err && err.message) }
    }
    if (ctx.body !== undefined && ctx.status === 404) ctx.status = 200
    res.statusCode = ctx.status
    if (ctx.body === undefined) return res.end('Not Found')
    if (typeof ctx.body === 'string' || Buffer.isBuffer(ctx.body)) return res.end(ctx.body)
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(ctx.body))
  }
}
`

const MINI_FLASK = `"""mini_flask.py: the part of Flask this app uses (@app.route, request.args, jsonify), on Python's
http.server. It is not Flask; replace "from mini_flask import" with "from flask import" once Flask
is in python/ of the package (and run it with app.run(host="127.0.0.1", port=8000))."""
import json
import re
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse


class Request:
    method = "GET"
    path = "/"
    args = {}
    headers = {}
    data = b""


request = Request()


def jsonify(value):
    return json.dumps(value), 200, {"Content-Type": "application/json"}


class Flask:
    def __init__(self, name):
        self.name = name
        self.routes = []

    def route(self, pattern, methods=("GET",)):
        regexp = re.compile("^" + re.sub(r"<([A-Za-z_]\\w*)>", r"(?P<\\1>[^/]+)", pattern) + "/?$")

        def register(view):
            self.routes.append((regexp, tuple(methods), view))
            return view

        return register

    def run(self, host="127.0.0.1", port=8000):
        app = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                url = urlparse(self.path)
                request.method = self.command
                request.path = url.path
                request.args = {k: v[0] for k, v in parse_qs(url.query).items()}
                request.headers = dict(self.headers)
                length = int(self.headers.get("Content-Length") or 0)
                request.data = self.rfile.read(length) if length else b""
                for regexp, methods, view in app.routes:
                    m = regexp.match(url.path)
                    if m and self.command in methods:
                        return self.answer(view(**m.groupdict()))
                self.answer((json.dumps({"error": "not found"}), 404, {"Content-Type": "application/json"}))

            def answer(self, result):
                body, status, headers = result if isinstance(result, tuple) else (result, 200, {})
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        HTTPServer((host, port), Handler).serve_forever()
`

export const HTTP_APP_TEMPLATES: readonly FunctionTemplate[] = [
  {
    id: '5f0c1a52-0101-4a6e-9b51-657870726573',
    name: 'http-express-style',
    title: 'HTTP function, Express style (Node.js)',
    description:
      'An Express-style web app as an HTTP function, on a small built-in router (mini-express.js, not Express itself).',
    runtime: 'http',
    handler: 'bootstrap',
    timeout: 10,
    memorySize: 256,
    scene: 'http',
    service: 'FunctionGraph',
    files: {
      bootstrap: 'node $RUNTIME_CODE_ROOT/app.js\n',
      'app.js': `const express = require('./mini-express')
const app = express()
app.get('/hello/:name', (req, res) => res.json({ hello: req.params.name }))
app.get('/', (req, res) => res.json({ message: 'Hello from an Express-style HTTP function', query: req.query }))
app.post('/echo', (req, res) => res.send(req.body))
app.listen(8000, '127.0.0.1', () => console.log('listening on 8000'))
`,
      'mini-express.js': MINI_EXPRESS,
    },
    executables: ['bootstrap'],
    triggers: [],
    example: ROUTE_EXAMPLE,
  },
  {
    id: '5f0c1a52-0102-4a6e-9b51-6b6f61202020',
    name: 'http-koa-style',
    title: 'HTTP function, Koa style (Node.js)',
    description:
      'A Koa-style web app (async middleware) as an HTTP function, on a small built-in core (mini-koa.js, not Koa itself).',
    runtime: 'http',
    handler: 'bootstrap',
    timeout: 10,
    memorySize: 256,
    scene: 'http',
    service: 'FunctionGraph',
    files: {
      bootstrap: 'node $RUNTIME_CODE_ROOT/app.js\n',
      'app.js': `const Koa = require('./mini-koa')
const app = new Koa()
app.use(async (ctx, next) => {
  const started = Date.now()
  await next()
  ctx.set('X-Response-Time', \`\${Date.now() - started}ms\`)
})
app.use(async (ctx) => {
  const m = /^\\/hello\\/([^/]+)$/.exec(ctx.path)
  ctx.body = m ? { hello: decodeURIComponent(m[1]) } : { message: 'Hello from a Koa-style HTTP function', path: ctx.path }
})
app.listen(8000, '127.0.0.1')
`,
      'mini-koa.js': MINI_KOA,
    },
    executables: ['bootstrap'],
    triggers: [],
    example: ROUTE_EXAMPLE,
  },
  {
    id: '5f0c1a52-0103-4a6e-9b51-666c61736b20',
    name: 'http-flask-style',
    title: 'HTTP function, Flask style (Python)',
    description:
      'A Flask-style web app (@app.route) as an HTTP function, on a small built-in core (mini_flask.py, not Flask itself).',
    runtime: 'http',
    handler: 'bootstrap',
    timeout: 10,
    memorySize: 256,
    scene: 'http',
    service: 'FunctionGraph',
    files: {
      bootstrap: 'python3 $RUNTIME_CODE_ROOT/app.py\n',
      'app.py': `from mini_flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return jsonify({"hello": name})


@app.route("/")
def index():
    return jsonify({"message": "Hello from a Flask-style HTTP function", "args": request.args})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
`,
      'mini_flask.py': MINI_FLASK,
    },
    executables: ['bootstrap'],
    triggers: [],
    example: ROUTE_EXAMPLE,
  },
]
