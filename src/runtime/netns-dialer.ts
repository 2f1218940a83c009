/**
 * @module NetnsDialer: connections from Strato to HTTP functions' servers, made inside each
 * instance's own network namespace by a trusted root helper (netns-dialer.py, beside this file) and
 * handed over as sockets. Strato's HTTP client then speaks to the server directly: no process in
 * between copies bytes, which is what a request through the gateway used to spend most on.
 *
 * Node cannot enter a namespace (setns) or receive a file descriptor except over its IPC channel,
 * hence a helper speaking that channel. It is started on first use, serves every instance, and
 * only ever hears from Strato: nothing inside a sandbox can write to it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { StratoError } from '../core/index.js'

/**
 * Beside this module in the sources; `dist/runtime/` finds it there too (`src/` and `dist/` are
 * siblings). Never under `runtimes/`, which sandboxes see.
 */
const HELPER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../src/runtime/netns-dialer.py',
)
/** A dial or open the helper has not answered by then failed (a hung helper is restarted). */
const ANSWER_TIMEOUT_MS = 5_000

/** Reaches the servers of HTTP functions' instances, each in its own network namespace. */
export interface InstanceNetwork {
  /**
   * Holds the namespace of the sandbox whose outer process is `pid` (started at `startTime`, as
   * /proc/<pid>/stat counts it), for dials to instance `instanceId`. Call once its server listens.
   */
  open(instanceId: string, pid: number, startTime: string | undefined): Promise<void>
  /** A new TCP connection to 127.0.0.1:8000 inside the instance's namespace. */
  dial(instanceId: string): Promise<net.Socket>
  /** Lets the namespace go (the instance stopped). */
  close(instanceId: string): void
  /** Stops the helper. */
  stop(): Promise<void>
}

interface Waiting {
  readonly resolve: (value: net.Socket | undefined) => void
  readonly reject: (err: Error) => void
  readonly timer: NodeJS.Timeout
}

interface HelperAnswer {
  readonly op?: string
  readonly id?: string
  readonly seq?: number
  readonly error?: string
}

export class NetnsDialer implements InstanceNetwork {
  readonly #python: string
  #helper: ChildProcess | undefined
  #stderr = ''
  #seq = 0
  /** Dials by sequence number, opens by `open:<instance id>`. */
  readonly #waiting = new Map<string, Waiting>()
  /** Instances whose namespaces are held: a restarted helper is told of them again. */
  readonly #opened = new Map<string, { pid: number; startTime: string | undefined }>()

  constructor(pythonCommand: string) {
    this.#python = pythonCommand
  }

  #start(): ChildProcess {
    if (this.#helper !== undefined) {
      return this.#helper
    }
    const helper = spawn(this.#python, [HELPER], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    })
    this.#helper = helper
    this.#stderr = ''
    helper.stderr?.on('data', (c: Buffer) => {
      this.#stderr = (this.#stderr + c.toString('utf8')).slice(-2000)
    })
    helper.on('message', (message: HelperAnswer, socket: unknown) => {
      const key =
        message.op === undefined
          ? `dial:${message.seq}`
          : message.op.startsWith('nft')
            ? `nft:${message.seq}`
            : `open:${message.id}`
      const waiting = this.#waiting.get(key)
      if (waiting === undefined) {
        if (socket instanceof net.Socket) {
          socket.destroy() // its dial timed out already
        }
        return
      }
      this.#waiting.delete(key)
      clearTimeout(waiting.timer)
      if (
        message.error !== undefined ||
        message.op === 'open-failed' ||
        message.op === 'nft-failed'
      ) {
        waiting.reject(new Error(message.error ?? 'failed'))
      } else {
        waiting.resolve(socket instanceof net.Socket ? socket : undefined)
      }
    })
    const gone = (why: string): void => {
      if (this.#helper !== helper) {
        return
      }
      this.#helper = undefined
      for (const [key, waiting] of this.#waiting) {
        clearTimeout(waiting.timer)
        waiting.reject(new Error(`the network helper ${why}. ${this.#stderr.trim()}`.trim()))
        this.#waiting.delete(key)
      }
    }
    helper.on('error', (err) => gone(`could not start: ${err.message}`))
    helper.on('exit', (code, signal) => gone(`exited (${signal ?? `code ${code}`})`))
    // The helper must not keep Strato alive, nor Strato's exit leave it behind (it reads EOF).
    helper.unref()
    helper.channel?.unref()
    // A helper that died took the namespaces it held: the new one opens them first (it answers
    // in order, so dials sent after these find them).
    for (const [id, { pid, startTime }] of this.#opened) {
      helper.send(this.#openRequest(id, pid, startTime), () => undefined)
    }
    return helper
  }

  #ask(key: string, request: object): Promise<net.Socket | undefined> {
    const helper = this.#start()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key)
        reject(new Error(`the network helper did not answer within ${ANSWER_TIMEOUT_MS} ms`))
        helper.kill('SIGKILL')
      }, ANSWER_TIMEOUT_MS)
      this.#waiting.set(key, { resolve, reject, timer })
      helper.send(request, (err) => {
        if (err !== null && err !== undefined) {
          this.#waiting.delete(key)
          clearTimeout(timer)
          reject(err)
        }
      })
    })
  }

  #openRequest(id: string, pid: number, startTime: string | undefined): object {
    return { op: 'open', id, pid, ...(startTime === undefined ? {} : { start: startTime }) }
  }

  async open(instanceId: string, pid: number, startTime: string | undefined): Promise<void> {
    try {
      await this.#ask(`open:${instanceId}`, this.#openRequest(instanceId, pid, startTime))
      this.#opened.set(instanceId, { pid, startTime })
    } catch (err) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `Strato could not reach the instance's network namespace: ${(err as Error).message}`,
      )
    }
  }

  async dial(instanceId: string): Promise<net.Socket> {
    const seq = ++this.#seq
    const socket = await this.#ask(`dial:${seq}`, { op: 'dial', id: instanceId, seq })
    if (socket === undefined) {
      throw new Error('the network helper answered without a socket')
    }
    socket.setNoDelay(true)
    return socket
  }

  /**
   * Runs nftables commands in the helper (libnftables, no process per change): how an instance's
   * egress policy is attached at specialisation, on the cold path (ADR 0023).
   */
  async nft(commands: string): Promise<void> {
    const seq = ++this.#seq
    await this.#ask(`nft:${seq}`, { op: 'nft', seq, commands })
  }

  close(instanceId: string): void {
    this.#opened.delete(instanceId)
    const helper = this.#helper
    if (helper?.connected === true) {
      helper.send({ op: 'close', id: instanceId }, () => undefined)
    }
  }

  async stop(): Promise<void> {
    const helper = this.#helper
    if (helper === undefined) {
      return
    }
    this.#helper = undefined
    this.#opened.clear()
    for (const [key, waiting] of this.#waiting) {
      clearTimeout(waiting.timer)
      waiting.reject(new Error('Strato is shutting down'))
      this.#waiting.delete(key)
    }
    const exited = new Promise<void>((resolve) => helper.once('exit', () => resolve()))
    helper.kill('SIGTERM')
    // A referenced timer: the helper and its channel are unreferenced, and with nothing else
    // pending (a start that failed) an unreferenced wait would let Node exit, with code 0, here.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))])
    clearTimeout(timer)
  }
}
