/**
 * @module The nftables rules of one server's instance egress (ADR 0023), as text for `nft -f`,
 * and the element changes that attach an instance's address to a policy. Pure: the host side is
 * `egress-network.ts`.
 *
 * Every instance's host-side veth is named `<prefix><n>`; the rules judge only packets from or to
 * those interfaces, so two servers on one host (each its own table and prefix) never judge each
 * other's instances, and the host's other traffic passes untouched. An instance's address is in
 * no map until its specialisation: a stem cell reaches nothing.
 */
import { cidrRange, isLoopback, type EgressSettings, type NamedNetwork } from '../config/index.js'
import type { FunctionEgress } from '../core/index.js'

/** Never reached through the default (`internet`) policy unless `STRATO_EGRESS_ALLOW` opens it. */
export const PRIVATE_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/3',
] as const

export interface EgressRuleInputs {
  readonly table: string
  /** Host-side interface name prefix of this server's instances. */
  readonly interfacePrefix: string
  readonly settings: EgressSettings
  readonly gateway: string
  /** Where DNS queries to the gateway go (the host's resolver), or undefined: no DNS. */
  readonly resolver: string | undefined
  /** The table's comment: which process holds it (`holderComment`). */
  readonly holder: string
}

/** Names the server process holding a table, so a later server can tell it is gone. */
export function holderComment(pid: number, startTime: string | undefined): string {
  return `strato pid ${pid} start ${startTime ?? '?'}`
}

/** The holder a table's listing names, or undefined (not one of ours). */
export function holderOf(listing: string): { pid: number; startTime: string } | undefined {
  const m = /comment "strato pid (\d+) start (\S+)"/.exec(listing)
  return m === null ? undefined : { pid: Number(m[1]), startTime: m[2] ?? '' }
}

/** The nft set names of one named network (by its position: names may hold `-`). */
function networkIds(index: number): { chain: string; hostChain: string; members: string } {
  return { chain: `net_${index}`, hostChain: `net_${index}_host`, members: `members_${index}` }
}

/**
 * Refusal with an answer, so a connection fails at once: the `refuse` chain answers TCP with a
 * reset (ICMP errors are rate limited per peer, and a scan would wait out its timeouts) and the
 * rest with ICMP admin-prohibited. One rule per match: a `ct count` met twice counts twice.
 */
function refuse(match: string): string[] {
  return [`    ${match === '' ? '' : `${match} `}goto refuse`]
}

function elements(list: readonly string[]): string {
  return list.length === 0 ? '' : ` elements = { ${list.join(', ')} };`
}

function endpointPairs(n: NamedNetwork): string[] {
  return n.endpoints.filter((e) => !isLoopback(e.address)).map((e) => `${e.address} . ${e.port}`)
}

/** What network `n` lets a member reach beyond the host (forward): its CIDRs and endpoints. */
function networkChain(n: NamedNetwork, chain: string): string {
  const cidrs = n.cidrs
  const pairs = endpointPairs(n)
  return [
    `  chain ${chain} {`,
    ...(cidrs.length > 0 ? [`    ip daddr { ${cidrs.join(', ')} } accept`] : []),
    ...(pairs.length > 0 ? [`    ip daddr . tcp dport { ${pairs.join(', ')} } accept`] : []),
    ...refuse(''),
    '  }',
  ].join('\n')
}

/**
 * What network `n` lets a member reach on the host itself (input): only the endpoints it names
 * (its loopback ones are accepted earlier, as this table's DNATs), never through a CIDR: a block
 * such as 10.0.0.0/8 holds the host's own addresses, and would open every port on them. The
 * gateway is the host's address instances know; nothing reaches it undnatted.
 */
function networkHostChain(n: NamedNetwork, chain: string, gateway: string): string {
  const pairs = endpointPairs(n)
  return [
    `  chain ${chain} {`,
    ...refuse(`ip daddr ${gateway}`),
    ...(pairs.length > 0 ? [`    ip daddr . tcp dport { ${pairs.join(', ')} } accept`] : []),
    ...refuse(''),
    '  }',
  ].join('\n')
}

/** The whole table: replaces any earlier one of the same name in the same transaction. */
export function egressRuleset(inputs: EgressRuleInputs): string {
  const { table, settings, gateway, resolver } = inputs
  const ifaces = `"${inputs.interfacePrefix}*"`
  const networks = settings.networks.map((n, i) => ({ n, ...networkIds(i) }))
  const loopbackDnat = networks.flatMap(({ n, members }) =>
    n.endpoints
      .filter((e) => isLoopback(e.address))
      .map(
        (e) =>
          `    iifname ${ifaces} ip saddr @${members} ip daddr ${gateway} tcp dport ${e.port} dnat ip to ${e.address}:${e.port}`,
      ),
  )
  const dnsDnat =
    resolver === undefined
      ? []
      : ['udp', 'tcp'].map(
          (proto) =>
            `    iifname ${ifaces} ip saddr @internet_members ip daddr ${gateway} ${proto} dport 53 dnat ip to ${resolver}:53`,
        )
  // What this table's own DNATs made, matched in full (who, where to before, where to now; nft
  // needs the protocol before `proto-dst`): a bare `ct status dnat` would also pass another table's rewrites (Docker's, kube-proxy's, a
  // REDIRECT), for every instance, before its verdict is looked up.
  const dnsDnatted =
    resolver === undefined
      ? []
      : [
          `    ip saddr @internet_members ct original ip daddr ${gateway} ip daddr ${resolver} meta l4proto { tcp, udp } th dport 53 ct original proto-dst 53 accept`,
        ]
  const loopbackDnatted = networks.flatMap(({ n, members }) =>
    n.endpoints
      .filter((e) => isLoopback(e.address))
      .map(
        (e) =>
          `    ip saddr @${members} ct original ip daddr ${gateway} ip daddr ${e.address} tcp dport ${e.port} ct original proto-dst ${e.port} accept`,
      ),
  )
  return [
    `table inet ${table} {`,
    `  comment "${inputs.holder}";`,
    '  map forward_verdicts { type ipv4_addr : verdict; }',
    '  map input_verdicts { type ipv4_addr : verdict; }',
    '  set internet_members { type ipv4_addr; }',
    ...networks.map(({ members }) => `  set ${members} { type ipv4_addr; }`),
    `  set allowed { type ipv4_addr; flags interval; auto-merge;${elements(settings.allow)} }`,
    `  set private { type ipv4_addr; flags interval; auto-merge;${elements([...PRIVATE_RANGES, settings.subnet])} }`,
    '  set connections { type ipv4_addr; size 65535; flags dynamic; }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...dnsDnat,
    ...loopbackDnat,
    '  }',
    // A host loopback service sees its client as 127.0.0.1, as a local one (PostgreSQL's trust).
    '  chain input_nat {',
    '    type nat hook input priority 100; policy accept;',
    `    iifname ${ifaces} ip daddr 127.0.0.0/8 ct status dnat snat ip to 127.0.0.1`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    iifname ${ifaces} oifname != ${ifaces} masquerade`,
    '  }',
    // Anything addressed to the host itself: Strato's ports, the host's services on any address.
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${ifaces} jump instance_input`,
    '  }',
    '  chain instance_input {',
    '    ct state established,related accept',
    // Only this table's DNATs: DNS for internet members, host loopback services of networks.
    ...dnsDnatted,
    ...loopbackDnatted,
    '    meta nfproto ipv4 ip saddr vmap @input_verdicts',
    ...refuse(''),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname ${ifaces} ct state established,related accept`,
    // Nothing opens a connection to an instance: not another instance, not the host's network.
    ...refuse(`oifname ${ifaces}`),
    `    iifname ${ifaces} jump instance_forward`,
    '  }',
    '  chain instance_forward {',
    '    ct state established,related accept',
    ...refuse(
      `ct state new add @connections { ip saddr ct count over ${settings.maxConnections} }`,
    ),
    // A resolver elsewhere than on the host is forwarded to.
    ...dnsDnatted,
    '    meta nfproto ipv4 ip saddr vmap @forward_verdicts',
    ...refuse(''),
    '  }',
    '  chain refuse {',
    '    meta l4proto tcp reject with tcp reset',
    '    reject with icmpx type admin-prohibited',
    '  }',
    '  chain internet {',
    '    ip daddr @allowed accept',
    ...refuse('ip daddr @private'),
    '    accept',
    '  }',
    ...networks.map(({ n, chain }) => networkChain(n, chain)),
    ...networks.map(({ n, hostChain }) => networkHostChain(n, hostChain, gateway)),
    '}',
  ].join('\n')
}

/**
 * The element changes that give `address` its function's egress (`add`), or take it back
 * (`delete`). `none` adds nothing: an address in no map is rejected everywhere.
 */
export function policyElements(
  op: 'add' | 'delete',
  table: string,
  address: string,
  egress: FunctionEgress,
  networks: readonly NamedNetwork[],
): string {
  const el = (set: string, value: string): string =>
    `${op} element inet ${table} ${set} { ${value} }`
  if (egress.kind === 'none') {
    return ''
  }
  if (egress.kind === 'internet') {
    return [
      el('forward_verdicts', op === 'add' ? `${address} : jump internet` : address),
      el('internet_members', address),
    ].join('\n')
  }
  const index = networks.findIndex((n) => n.name === egress.name)
  const { chain, hostChain, members } = networkIds(index)
  return [
    el('forward_verdicts', op === 'add' ? `${address} : jump ${chain}` : address),
    el('input_verdicts', op === 'add' ? `${address} : jump ${hostChain}` : address),
    el(members, address),
  ].join('\n')
}

/**
 * One `delete element` per map and set an address can be in, each its own transaction (a missing
 * element fails its whole transaction): what a new cell runs first, so that no policy an earlier
 * holder of its uid left behind survives, whatever went wrong then.
 */
export function forgetElements(
  table: string,
  address: string,
  networks: readonly NamedNetwork[],
): string[] {
  return [
    'forward_verdicts',
    'input_verdicts',
    'internet_members',
    ...networks.map((_, i) => networkIds(i).members),
  ].map((set) => `delete element inet ${table} ${set} { ${address} }`)
}

/**
 * The instance address for a uid: the subnet's first address plus the uid modulo its size
 * (uids are unique host-wide, so addresses are too while the subnet holds every range in use).
 * Undefined for the subnet's own first two addresses (network, gateway).
 */
export function instanceAddressNumber(subnet: string, uid: number): number | undefined {
  const { first, size } = cidrRange(subnet)
  const offset = uid % size
  return offset < 2 ? undefined : first + offset
}
