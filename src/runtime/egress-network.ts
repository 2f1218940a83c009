/**
 * @module Instance egress on the host (ADR 0023): one veth pair per instance, its host end routed
 * (no bridge: instances share no link), its inside end `eth0` in the sandbox's network namespace,
 * NAT to the outside, and this server's nftables table judging every packet from or to those
 * veths. The pair is made while the stem cell boots (off the cold path); the function's policy is
 * attached at specialisation by adding the instance's address to a map, in the network helper's
 * process (libnftables, ~0.2 ms). Bandwidth is bounded by a token bucket on each end of the pair.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import {
  cidrRange,
  ipv4ToNumber,
  numberToIpv4,
  type EgressSettings,
  type NamedNetwork,
} from '../config/index.js'
import { readProcessStartTime, StratoError, type FunctionEgress } from '../core/index.js'
import {
  egressRuleset,
  forgetElements,
  holderComment,
  holderOf,
  instanceAddressNumber,
  policyElements,
} from './egress-rules.js'

/** Runs nftables commands without a process per change (the network helper). */
export interface NftRunner {
  nft(commands: string): Promise<void>
}

/** One cell's network: wired at boot, given its function's policy at specialisation. */
export interface CellEgress {
  readonly address: string
  /** Moves the instance's end of a new veth pair into the namespace of sandbox process `pid`. */
  wire(pid: number): Promise<void>
  /** Gives the instance its function's egress; once. */
  attach(egress: FunctionEgress): Promise<void>
  /**
   * Takes the policy back (before the address, which is the uid's, can be handed out again),
   * after an attach still in flight; rejects when the policy may still be in place.
   */
  detach(): Promise<void>
}

const TOOLS = ['nft', 'ip', 'tc', 'nsenter'] as const
type Tool = (typeof TOOLS)[number]
/** How long `wire` looks for the sandbox's first process (bubblewrap forks it at once). */
const CHILD_WAIT_MS = 3_000

function findTool(tool: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin']
    .map((d) => `${d}/${tool}`)
    .find((p) => fs.existsSync(p))
}

/** The host's first IPv4 resolver, as glibc would ask it. */
function hostResolver(): string | undefined {
  try {
    const text = fs.readFileSync('/etc/resolv.conf', 'utf8')
    for (const m of text.matchAll(/^\s*nameserver\s+(\S+)/gm)) {
      if (ipv4ToNumber(m[1] ?? '') !== undefined) {
        return m[1]
      }
    }
  } catch {
    // no resolv.conf: instances get no DNS
  }
  return undefined
}

function run(command: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || `exit ${code}`}`)),
    )
    if (input !== undefined) {
      // A command that exits before reading (it failed) closes the pipe: its exit code tells.
      child.stdin?.on('error', () => undefined)
      child.stdin?.end(input)
    }
  })
}

/** The first child of `pid` (the sandbox's own first process), waiting for bubblewrap's fork. */
async function firstChild(pid: number): Promise<number> {
  const deadline = Date.now() + CHILD_WAIT_MS
  for (;;) {
    const kids = await fsp
      .readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .then((t) => t.split(' ').filter((k) => k.trim() !== ''))
      .catch(() => undefined)
    if (kids === undefined) {
      throw new Error(`the sandbox process ${pid} is gone`)
    }
    const kid = kids[0]
    if (kid !== undefined) {
      return Number(kid)
    }
    if (Date.now() > deadline) {
      throw new Error(`the sandbox process ${pid} started nothing within ${CHILD_WAIT_MS} ms`)
    }
    await new Promise((r) => setTimeout(r, 1))
  }
}

export class EgressNetwork {
  readonly gateway: string
  /** The resolver the gateway's port 53 leads to, or undefined (no DNS). */
  readonly resolver: string | undefined
  readonly #settings: EgressSettings
  readonly #table: string
  readonly #prefix: string
  readonly #tools: Record<Tool, string>
  readonly #nft: NftRunner
  /** Forgets a stopped instance's tracked connections; optional (Debian: conntrack). */
  readonly #conntrack = findTool('conntrack')

  private constructor(
    settings: EgressSettings,
    scope: string,
    tools: Record<Tool, string>,
    nft: NftRunner,
  ) {
    this.#settings = settings
    this.#table = `strato_${scope}`
    // veth names hold 15 characters: 'sv', 5 of the scope, the uid in base 36 (at most 7).
    this.#prefix = `sv${scope.slice(0, 5)}`
    this.#tools = tools
    this.#nft = nft
    this.gateway = numberToIpv4(cidrRange(settings.subnet).first + 1)
    this.resolver = settings.dns ?? hostResolver()
  }

  /**
   * Sets the host up for this server's instances (removing what a killed run of the same data dir
   * left: veths, the table), or says why instances keep only their loopback.
   */
  static setUp(
    settings: EgressSettings,
    scope: string,
    nft: NftRunner,
  ): { network: EgressNetwork } | { reason: string } {
    if (!settings.enabled) {
      return { reason: 'STRATO_EGRESS=off: instances have only their loopback' }
    }
    if (process.getuid?.() !== 0) {
      return { reason: 'Strato does not run as root: instances have only their loopback' }
    }
    const tools: Partial<Record<Tool, string>> = {}
    for (const tool of TOOLS) {
      tools[tool] = findTool(tool)
    }
    const missing = TOOLS.filter((t) => tools[t] === undefined)
    if (missing.length > 0) {
      return {
        reason: `${missing.join(', ')} not found (Debian: nftables, iproute2, util-linux): instances have only their loopback`,
      }
    }
    const network = new EgressNetwork(settings, scope, tools as Record<Tool, string>, nft)
    const problem = network.#install()
    return problem === undefined ? { network } : { reason: problem }
  }

  /** The table, IP forwarding, and no leftovers; undefined when done, else what failed. */
  #install(): string | undefined {
    this.#removeLeftovers(this.#prefix)
    this.#removeDeadServersTables()
    try {
      fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1')
    } catch (err) {
      return `cannot turn IP forwarding on (${(err as Error).message}): instances have only their loopback`
    }
    const ruleset = egressRuleset({
      table: this.#table,
      interfacePrefix: this.#prefix,
      settings: this.#settings,
      gateway: this.gateway,
      resolver: this.resolver,
      holder: holderComment(process.pid, readProcessStartTime(process.pid)),
    })
    // Declaring then deleting replaces a leftover table in one transaction, and works without one.
    const r = spawnSync(this.#tools.nft, ['-f', '-'], {
      input: `table inet ${this.#table} {}\ndelete table inet ${this.#table}\n${ruleset}\n`,
      encoding: 'utf8',
      timeout: 10_000,
    })
    if (r.status !== 0) {
      return `nftables refused the egress rules (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}): instances have only their loopback`
    }
    return undefined
  }

  /** Host-side veths named with `prefix`: a killed run's instances' (their namespaces live on). */
  #removeLeftovers(prefix: string): void {
    const r = spawnSync(this.#tools.ip, ['-o', 'link', 'show'], { encoding: 'utf8' })
    for (const m of (r.stdout ?? '').matchAll(/^\d+:\s+([^:@\s]+)/gm)) {
      const name = m[1] ?? ''
      if (name.startsWith(prefix)) {
        spawnSync(this.#tools.ip, ['link', 'del', name])
      }
    }
  }

  /**
   * Tables of other data dirs' servers that were killed (their holder process is gone, or its pid
   * now names another process): no restart on that data dir may ever come to replace them.
   */
  #removeDeadServersTables(): void {
    const listed = spawnSync(this.#tools.nft, ['list', 'tables'], { encoding: 'utf8' })
    for (const m of (listed.stdout ?? '').matchAll(/^table inet (strato_([0-9a-f]{16}))$/gm)) {
      const [, table = '', scope = ''] = m
      if (table === this.#table) {
        continue
      }
      const listing = spawnSync(this.#tools.nft, ['list', 'table', 'inet', table], {
        encoding: 'utf8',
      })
      const holder = holderOf(listing.stdout ?? '')
      if (holder !== undefined && readProcessStartTime(holder.pid) !== holder.startTime) {
        spawnSync(this.#tools.nft, ['delete', 'table', 'inet', table], { stdio: 'ignore' })
        this.#removeLeftovers(`sv${scope.slice(0, 5)}`)
      }
    }
  }

  /**
   * At shutdown, once instances are gone: the veths first, then the table. The other way round, an
   * instance that outlived its stop would be routed, forwarded and masqueraded with no rule
   * judging it, in the moment between (fail open); this way it is cut off first.
   */
  close(): void {
    this.#removeLeftovers(this.#prefix)
    spawnSync(this.#tools.nft, ['delete', 'table', 'inet', this.#table], { stdio: 'ignore' })
  }

  /** Through the network helper; where it cannot (no python3, no libnftables), the `nft` tool. */
  async #apply(commands: string): Promise<void> {
    try {
      await this.#nft.nft(commands)
    } catch {
      await run(this.#tools.nft, ['-f', '-'], commands)
    }
  }

  /**
   * Takes `address` out of every map and set, ignoring those it is not in: each in its own
   * transaction, through the helper (a missing element is the usual answer, and no reason to
   * start the `nft` tool).
   */
  async #forget(address: string): Promise<void> {
    await Promise.all(
      forgetElements(this.#table, address, this.#settings.networks).map(async (command) => {
        try {
          await this.#nft.nft(command)
        } catch (err) {
          if (!/No such file or directory/.test((err as Error).message)) {
            await run(this.#tools.nft, ['-f', '-'], command).catch(() => undefined)
          }
        }
      }),
    )
  }

  /** The lines of the instance's /etc/hosts, /etc/resolv.conf and nsswitch.conf hosts entry. */
  get etc(): { hosts: string; resolvConf: string; nsswitchHosts: string } {
    return {
      hosts: `127.0.0.1 localhost\n::1 localhost\n${this.gateway} host.strato.internal\n`,
      resolvConf:
        this.resolver === undefined ? '' : `nameserver ${this.gateway}\noptions ndots:0\n`,
      nsswitchHosts: 'hosts: files dns\n',
    }
  }

  get networks(): readonly NamedNetwork[] {
    return this.#settings.networks
  }

  /** The network of the instance running as `uid`, or undefined when the uid has no address. */
  cell(uid: number): CellEgress | undefined {
    const n = instanceAddressNumber(this.#settings.subnet, uid)
    if (n === undefined) {
      return undefined
    }
    const address = numberToIpv4(n)
    const name = `${this.#prefix}${uid.toString(36)}`
    let attached: FunctionEgress | undefined
    /** An attach in flight: a cell stopped meanwhile must undo it once it lands, not before. */
    let attaching: Promise<void> | undefined
    const tbf = (dev: string): string => {
      const rate = this.#settings.rateMbit
      // About 20 ms of traffic per burst, and never less than a few full-size packets.
      const burstKb = Math.max(32, Math.ceil((rate * 1000) / 8 / 50))
      return `qdisc replace dev ${dev} root tbf rate ${rate}mbit burst ${burstKb}kb latency 50ms`
    }
    return {
      address,
      wire: async (pid) => {
        // Whatever an earlier holder of this uid left (a detach that failed) goes before the
        // address is routed again.
        const forgotten = this.#forget(address)
        const kid = await firstChild(pid)
        const inside = `${this.#tools.nsenter} --net=/proc/${kid}/ns/net`
        // One shell for the whole wiring: a spawn from Node costs more than the commands.
        const script = [
          'set -e',
          // An earlier holder of this uid whose namespace the kernel is still taking down.
          `${this.#tools.ip} link del ${name} 2>/dev/null || true`,
          `${this.#tools.ip} -batch - <<EOF`,
          `link add ${name} type veth peer name eth0 netns ${kid}`,
          `link set ${name} up`,
          `address add ${this.gateway}/32 dev ${name}`,
          `route add ${address}/32 dev ${name} src ${this.gateway}`,
          'EOF',
          // The gateway's DNATs lead to host loopback services; the veth carries no IPv6 at all.
          `echo 1 > /proc/sys/net/ipv4/conf/${name}/route_localnet`,
          // A source address not routed back through this veth (another instance's) is dropped.
          `echo 1 > /proc/sys/net/ipv4/conf/${name}/rp_filter`,
          `echo 1 > /proc/sys/net/ipv6/conf/${name}/disable_ipv6 2>/dev/null || true`,
          `${this.#tools.tc} ${tbf(name)}`,
          `${inside} ${this.#tools.ip} -batch - <<EOF`,
          `address add ${address}/32 dev eth0`,
          'link set eth0 up',
          `route add ${this.gateway}/32 dev eth0`,
          `route add default via ${this.gateway} dev eth0`,
          'EOF',
          `${inside} ${this.#tools.tc} ${tbf('eth0')}`,
        ].join('\n')
        await Promise.all([forgotten, run('/bin/sh', ['-c', script])])
      },
      attach: (egress) => {
        attaching = this.#attach(address, egress).then(() => {
          attached = egress
        })
        return attaching
      },
      detach: async () => {
        await attaching?.catch(() => undefined)
        attaching = undefined
        const was = attached
        attached = undefined
        if (was !== undefined) {
          const commands = policyElements(
            'delete',
            this.#table,
            address,
            was,
            this.#settings.networks,
          )
          if (commands !== '') {
            // Not caught: the caller keeps the uid (and so the address) out of use instead.
            await this.#apply(commands)
          }
        }
        // Now, not when the kernel gets round to the dead namespace: the uid may be the next
        // cell's at once, and its `link add` of the same name would fail ("File exists").
        await run(this.#tools.ip, ['link', 'del', name]).catch(() => undefined)
        // A killed instance's connections stay tracked (established, for days): they would count
        // against the next instance given this address, and let replies reach it.
        if (this.#conntrack !== undefined) {
          await run(this.#conntrack, ['-D', '-s', address]).catch(() => undefined)
        }
      },
    }
  }

  async #attach(address: string, egress: FunctionEgress): Promise<void> {
    if (egress.kind === 'network' && !this.#settings.networks.some((n) => n.name === egress.name)) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `The function's func_vpc names network '${egress.name}', which this Strato does not define (STRATO_NETWORKS).`,
      )
    }
    const commands = policyElements('add', this.#table, address, egress, this.#settings.networks)
    if (commands !== '') {
      await this.#apply(commands)
    }
  }
}
