/**
 * @module The egress settings (ADR 0023): whether instances reach the outside, which private
 * ranges every function may reach anyway (`STRATO_EGRESS_ALLOW`), the operator's named networks
 * (`STRATO_NETWORKS`, what FunctionGraph's `func_vpc` attaches a function to), and each
 * instance's bandwidth and connection bounds. Pure parsing: nothing here touches the host.
 */
import fs from 'node:fs'
import { StratoError } from '../core/index.js'

/** An IPv4 block in canonical form (`10.1.0.0/16`); a single address is a `/32`. */
export type Cidr = string

/** A TCP service a named network opens: one address and port. */
export interface NetworkEndpoint {
  readonly address: string
  readonly port: number
}

/** An operator-defined network: exactly what a function attached to it reaches. */
export interface NamedNetwork {
  readonly name: string
  /** Whole blocks (every protocol and port). */
  readonly cidrs: readonly Cidr[]
  /** Single TCP services; one on the host's loopback is reached at the gateway's address. */
  readonly endpoints: readonly NetworkEndpoint[]
}

export interface EgressSettings {
  /** `STRATO_EGRESS=off` keeps every instance to its loopback, as before egress existed. */
  readonly enabled: boolean
  /** Private or link-local blocks every function with egress may reach (`STRATO_EGRESS_ALLOW`). */
  readonly allow: readonly Cidr[]
  readonly networks: readonly NamedNetwork[]
  /** Instances' addresses come from here (`STRATO_EGRESS_SUBNET`); the second is the gateway. */
  readonly subnet: Cidr
  /** Each instance's bandwidth, each way (`STRATO_EGRESS_RATE_MBIT`). */
  readonly rateMbit: number
  /** Connections one instance may have tracked at once (`STRATO_EGRESS_MAX_CONNECTIONS`). */
  readonly maxConnections: number
  /** The resolver instances' DNS queries go to (`STRATO_EGRESS_DNS`); else the host's. */
  readonly dns: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

function bad(name: string, value: string, why: string): StratoError {
  return new StratoError('INVALID_PARAMETER', `Setting ${name}=${value} is invalid: ${why}.`)
}

/** The 32-bit value of a dotted IPv4 address, or undefined when it is not one. */
export function ipv4ToNumber(address: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
  if (m === null) {
    return undefined
  }
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) {
    return undefined
  }
  return parts.reduce((n, p) => n * 256 + p, 0)
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}

/** `10.1.2.3/16` → `10.1.0.0/16`; a bare address → `/32`; undefined when malformed. */
export function canonicalCidr(text: string): Cidr | undefined {
  const [address = '', bits = '32', extra] = text.trim().split('/')
  const n = ipv4ToNumber(address)
  if (n === undefined || extra !== undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) {
    return undefined
  }
  const size = 2 ** (32 - Number(bits))
  return `${numberToIpv4(n - (n % size))}/${bits}`
}

/** First address and size of a canonical block. */
export function cidrRange(cidr: Cidr): { first: number; size: number } {
  const [address = '', bits = '32'] = cidr.split('/')
  return { first: ipv4ToNumber(address) ?? 0, size: 2 ** (32 - Number(bits)) }
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.')
}

function parseNetwork(name: string, value: unknown, setting: string): NamedNetwork {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(name)) {
    throw bad(setting, name, 'a network name is 1 to 32 letters, digits, _ or -')
  }
  const entries = Array.isArray(value)
    ? value
    : value !== null &&
        typeof value === 'object' &&
        Array.isArray((value as { open?: unknown }).open)
      ? (value as { open: unknown[] }).open
      : undefined
  if (entries === undefined || entries.length === 0) {
    throw bad(setting, name, 'a network opens a list of CIDRs and address:port pairs')
  }
  const cidrs: Cidr[] = []
  const endpoints: NetworkEndpoint[] = []
  for (const entry of entries) {
    const text = String(entry)
    const pair = /^([\d.]+):(\d{1,5})$/.exec(text)
    if (pair !== null) {
      const port = Number(pair[2])
      if (ipv4ToNumber(pair[1] ?? '') === undefined || port < 1 || port > 65535) {
        throw bad(setting, text, `network '${name}': not an IPv4 address:port`)
      }
      // Canonical (no leading zeros): the rules compare it as nftables reads it.
      endpoints.push({ address: numberToIpv4(ipv4ToNumber(pair[1] ?? '') ?? 0), port })
      continue
    }
    const cidr = canonicalCidr(text)
    if (cidr === undefined) {
      throw bad(setting, text, `network '${name}': not an IPv4 CIDR or address:port`)
    }
    if (isLoopback(cidr)) {
      throw bad(setting, text, `network '${name}': the host's loopback opens only as address:port`)
    }
    cidrs.push(cidr)
  }
  return { name, cidrs, endpoints }
}

/**
 * `STRATO_NETWORKS`: a JSON object, or the path of a file holding one, naming each network and
 * what it opens: `{"db": ["127.0.0.1:5432"], "corp": {"open": ["10.20.0.0/16"]}}`.
 */
export function parseNetworks(raw: string | undefined): NamedNetwork[] {
  if (raw === undefined || raw.trim() === '') {
    return []
  }
  const text = raw.trim().startsWith('{') ? raw : readNetworksFile(raw)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw bad('STRATO_NETWORKS', raw, `not JSON (${(err as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw bad('STRATO_NETWORKS', raw, 'a JSON object of network name to what it opens')
  }
  return Object.entries(parsed).map(([name, value]) => parseNetwork(name, value, 'STRATO_NETWORKS'))
}

function readNetworksFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw bad(
      'STRATO_NETWORKS',
      file,
      `neither JSON nor a readable file (${(err as Error).message})`,
    )
  }
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const x = cidrRange(a)
  const y = cidrRange(b)
  return x.first < y.first + y.size && y.first < x.first + x.size
}

/**
 * A network reaching into the instances' own subnet would hold the gateway (the host) and other
 * instances' addresses: refused, so that no block opens more than its operator could have meant.
 */
function refuseOverlaps(networks: readonly NamedNetwork[], subnet: Cidr): void {
  for (const n of networks) {
    const inside = [
      ...n.cidrs.filter((c) => overlaps(c, subnet)),
      ...n.endpoints
        .filter((e) => overlaps(`${e.address}/32`, subnet))
        .map((e) => `${e.address}:${e.port}`),
    ]
    if (inside.length > 0) {
      throw bad(
        'STRATO_NETWORKS',
        inside.join(', '),
        `network '${n.name}' reaches into STRATO_EGRESS_SUBNET ${subnet} (the gateway, other instances); move the subnet or narrow the network`,
      )
    }
  }
}

function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') {
    return fallback
  }
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw bad(name, raw, `an integer from ${min} to ${max}`)
  }
  return n
}

export function parseEgressSettings(env: Env): EgressSettings {
  const switchRaw = env.STRATO_EGRESS ?? 'on'
  if (!['on', 'off', ''].includes(switchRaw)) {
    throw bad('STRATO_EGRESS', switchRaw, "'on' or 'off'")
  }
  const allow = (env.STRATO_EGRESS_ALLOW ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const cidr = canonicalCidr(s)
      if (cidr === undefined || isLoopback(cidr)) {
        throw bad('STRATO_EGRESS_ALLOW', s, 'not an IPv4 CIDR outside 127.0.0.0/8')
      }
      return cidr
    })
  const subnetRaw = env.STRATO_EGRESS_SUBNET ?? '10.208.0.0/12'
  const subnet = canonicalCidr(subnetRaw)
  if (subnet === undefined || Number(subnet.split('/')[1]) > 16) {
    throw bad('STRATO_EGRESS_SUBNET', subnetRaw, 'an IPv4 block of /16 or larger')
  }
  const networks = parseNetworks(env.STRATO_NETWORKS)
  refuseOverlaps(networks, subnet)
  const dns = env.STRATO_EGRESS_DNS
  if (dns !== undefined && dns !== '' && ipv4ToNumber(dns) === undefined) {
    throw bad('STRATO_EGRESS_DNS', dns, 'an IPv4 address')
  }
  return {
    enabled: switchRaw !== 'off',
    allow,
    networks,
    subnet,
    rateMbit: intSetting(env, 'STRATO_EGRESS_RATE_MBIT', 100, 1, 100_000),
    maxConnections: intSetting(env, 'STRATO_EGRESS_MAX_CONNECTIONS', 256, 1, 1_000_000),
    dns: dns === undefined || dns === '' ? undefined : numberToIpv4(ipv4ToNumber(dns) ?? 0),
  }
}
