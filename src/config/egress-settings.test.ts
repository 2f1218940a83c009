import { expect, test } from 'vitest'
import { canonicalCidr, parseEgressSettings, parseNetworks } from './egress-settings.js'

test('egress is on by default, with FunctionGraph-like bounds and the 10.208.0.0/12 subnet', () => {
  expect(parseEgressSettings({})).toEqual({
    enabled: true,
    allow: [],
    networks: [],
    subnet: '10.208.0.0/12',
    rateMbit: 100,
    maxConnections: 256,
    dns: undefined,
  })
  expect(parseEgressSettings({ STRATO_EGRESS: 'off' }).enabled).toBe(false)
  expect(() => parseEgressSettings({ STRATO_EGRESS: 'maybe' })).toThrow(/STRATO_EGRESS/)
})

test('STRATO_EGRESS_ALLOW takes IPv4 CIDRs and addresses, canonical; never the loopback', () => {
  expect(parseEgressSettings({ STRATO_EGRESS_ALLOW: '10.1.2.3/16, 192.168.1.9' }).allow).toEqual([
    '10.1.0.0/16',
    '192.168.1.9/32',
  ])
  expect(() => parseEgressSettings({ STRATO_EGRESS_ALLOW: '127.0.0.0/8' })).toThrow(/loopback|127/)
  expect(() => parseEgressSettings({ STRATO_EGRESS_ALLOW: 'fd00::/8' })).toThrow(/IPv4/)
  expect(canonicalCidr('300.1.1.1')).toBeUndefined()
})

test('STRATO_NETWORKS: a name opens CIDRs and address:port pairs; db = 127.0.0.1:5432 is expressible', () => {
  expect(
    parseNetworks(
      '{"db": ["127.0.0.1:5432"], "corp": {"open": ["10.20.0.0/16", "10.30.1.5:443"]}}',
    ),
  ).toEqual([
    { name: 'db', cidrs: [], endpoints: [{ address: '127.0.0.1', port: 5432 }] },
    { name: 'corp', cidrs: ['10.20.0.0/16'], endpoints: [{ address: '10.30.1.5', port: 443 }] },
  ])
  expect(() => parseNetworks('{"db": []}')).toThrow(/opens a list/)
  expect(() => parseNetworks('{"db": ["127.0.0.0/8"]}')).toThrow(/loopback/)
  expect(() => parseNetworks('{"bad name": ["10.0.0.0/8"]}')).toThrow(/network name/)
  expect(() => parseNetworks('/nonexistent/networks.json')).toThrow(/readable file/)
})

test('a network reaching into STRATO_EGRESS_SUBNET (the gateway, other instances) is refused', () => {
  expect(() => parseEgressSettings({ STRATO_NETWORKS: '{"corp": ["10.0.0.0/8"]}' })).toThrow(
    /network 'corp' reaches into STRATO_EGRESS_SUBNET 10\.208\.0\.0\/12/,
  )
  expect(() => parseEgressSettings({ STRATO_NETWORKS: '{"gw": ["10.208.0.1:22"]}' })).toThrow(
    /10\.208\.0\.1:22/,
  )
  // Moving the subnet out of the block makes it fine.
  expect(
    parseEgressSettings({
      STRATO_NETWORKS: '{"corp": ["10.0.0.0/8"]}',
      STRATO_EGRESS_SUBNET: '172.30.0.0/16',
    }).networks[0]?.cidrs,
  ).toEqual(['10.0.0.0/8'])
})

test('endpoint addresses and STRATO_EGRESS_DNS are kept canonical (no leading zeros), as nftables reads them', () => {
  const s = parseEgressSettings({
    STRATO_NETWORKS: '{"side": ["010.098.000.002:8080"]}',
    STRATO_EGRESS_DNS: '010.099.000.002',
  })
  expect(s.networks[0]?.endpoints).toEqual([{ address: '10.98.0.2', port: 8080 }])
  expect(s.dns).toBe('10.99.0.2')
})
