import { expect, test } from 'vitest'
import { parseEgressSettings } from '../config/index.js'
import {
  egressRuleset,
  forgetElements,
  holderComment,
  holderOf,
  instanceAddressNumber,
  policyElements,
} from './egress-rules.js'

const settings = parseEgressSettings({
  STRATO_EGRESS_ALLOW: '10.99.0.0/24',
  STRATO_NETWORKS: '{"db": ["127.0.0.1:5432"], "side": ["10.98.0.2:8080", "10.5.0.0/16"]}',
  STRATO_EGRESS_MAX_CONNECTIONS: '16',
})
const rules = egressRuleset({
  table: 'strato_t',
  interfacePrefix: 'svabcde',
  settings,
  gateway: '10.208.0.1',
  resolver: '10.99.0.2',
  holder: holderComment(4711, '123456'),
})

/** One chain's text, from its header to its closing brace. */
function chain(name: string, ruleset = rules): string {
  return new RegExp(`chain ${name} \\{\\n[\\s\\S]*?\\n {2}\\}`).exec(ruleset)?.[0] ?? ''
}

test('the ruleset judges only its own veths, and DNATs the host loopback only for members', () => {
  expect(rules).toContain('iifname "svabcde*" jump instance_input')
  expect(rules).toContain(
    'iifname "svabcde*" ip saddr @members_0 ip daddr 10.208.0.1 tcp dport 5432 dnat ip to 127.0.0.1:5432',
  )
  expect(rules).toContain('ip daddr . tcp dport { 10.98.0.2 . 8080 } accept')
  expect(rules).toContain('ct count over 16')
  // The instances' own subnet is private too: no instance reaches another through the default.
  expect(rules).toMatch(/set private \{[^}]*10\.208\.0\.0\/12/)
  expect(rules).toMatch(/set allowed \{[^}]*10\.99\.0\.0\/24/)
})

test('attaching adds the address to the maps of its policy; none adds nothing', () => {
  expect(policyElements('add', 'strato_t', '10.208.1.2', { kind: 'internet' }, settings.networks))
    .toBe(`add element inet strato_t forward_verdicts { 10.208.1.2 : jump internet }
add element inet strato_t internet_members { 10.208.1.2 }`)
  expect(
    policyElements(
      'delete',
      'strato_t',
      '10.208.1.2',
      { kind: 'network', name: 'side' },
      settings.networks,
    ),
  ).toBe(`delete element inet strato_t forward_verdicts { 10.208.1.2 }
delete element inet strato_t input_verdicts { 10.208.1.2 }
delete element inet strato_t members_1 { 10.208.1.2 }`)
  expect(policyElements('add', 'strato_t', '10.208.1.2', { kind: 'none' }, settings.networks)).toBe(
    '',
  )
})

test("an instance's address is its uid within the subnet, never the network's or the gateway's", () => {
  expect(instanceAddressNumber('10.208.0.0/12', 200_000)).toBe(0x0ad00000 + 200_000)
  expect(instanceAddressNumber('10.208.0.0/12', 1 << 20)).toBeUndefined()
  expect(instanceAddressNumber('10.208.0.0/12', (1 << 20) + 1)).toBeUndefined()
})

test('the table names its holder, so a later server can tell a dead one left it', () => {
  expect(holderOf(rules)).toEqual({ pid: 4711, startTime: '123456' })
  expect(holderOf('table inet other {\n}')).toBeUndefined()
})

test("the host and forwarding accept only this table's own DNATs, each matched in full", () => {
  // A bare `ct status dnat` would pass Docker's or kube-proxy's rewrites for every instance.
  expect(rules).not.toMatch(/ct status dnat accept/)
  const input = chain('instance_input')
  const forward = chain('instance_forward')
  const dns =
    'ip saddr @internet_members ct original ip daddr 10.208.0.1 ip daddr 10.99.0.2 meta l4proto { tcp, udp } th dport 53 ct original proto-dst 53 accept'
  expect(input).toContain(dns)
  expect(forward).toContain(dns)
  expect(input).toContain(
    'ip saddr @members_0 ct original ip daddr 10.208.0.1 ip daddr 127.0.0.1 tcp dport 5432 ct original proto-dst 5432 accept',
  )
  // Every accept of a DNATed packet in these chains names the source set it is for.
  for (const line of `${input}\n${forward}`.split('\n').filter((l) => l.includes('ct original'))) {
    expect(line).toMatch(/ip saddr @(internet_members|members_\d+) /)
  }
})

test("a network's CIDRs open nothing on the host, even a block holding the gateway: only its named endpoints", () => {
  // As an operator could mean 10.0.0.0/8 (settings refuse it over the default subnet; the rules
  // must not rely on that alone).
  const wide = egressRuleset({
    table: 'strato_t',
    interfacePrefix: 'svabcde',
    settings: {
      ...settings,
      networks: [
        { name: 'corp', cidrs: ['10.0.0.0/8'], endpoints: [{ address: '10.1.2.3', port: 443 }] },
      ],
    },
    gateway: '10.208.0.1',
    resolver: undefined,
    holder: holderComment(4711, '123456'),
  })
  const onHost = chain('net_0_host', wide)
  expect(onHost).toContain('ip daddr 10.208.0.1 goto refuse')
  expect(onHost).toContain('ip daddr . tcp dport { 10.1.2.3 . 443 } accept')
  expect(onHost).not.toContain('10.0.0.0/8')
  expect(onHost.trim().endsWith('goto refuse\n  }')).toBe(true)
  // Beyond the host the block is open, as the operator said.
  expect(chain('net_0', wide)).toContain('ip daddr { 10.0.0.0/8 } accept')
  expect(
    policyElements('add', 'strato_t', '10.208.1.2', { kind: 'network', name: 'corp' }, [
      { name: 'corp', cidrs: [], endpoints: [] },
    ]),
  ).toContain('input_verdicts { 10.208.1.2 : jump net_0_host }')
})

test('a new cell first takes its address out of every map and set, each in a transaction of its own', () => {
  expect(forgetElements('strato_t', '10.208.1.2', settings.networks)).toEqual([
    'delete element inet strato_t forward_verdicts { 10.208.1.2 }',
    'delete element inet strato_t input_verdicts { 10.208.1.2 }',
    'delete element inet strato_t internet_members { 10.208.1.2 }',
    'delete element inet strato_t members_0 { 10.208.1.2 }',
    'delete element inet strato_t members_1 { 10.208.1.2 }',
  ])
})
