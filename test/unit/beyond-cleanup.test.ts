// What `ovlnet cleanup` removes and keeps, from host snapshots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MASQ_JUMP_SPEC, planMasq } from '../../src/backends/masq.js';
import { parseIP, parsePrefix } from '../../src/model/ip.js';
import { parseMAC } from '../../src/model/mac.js';
import type { ActualState, HostLink, HostRoute, NatState } from '../../src/model/types.js';
import { hasOvlnetMark, isClean, isSubnetEnv, planCleanup, type CleanupInput, type CleanupPlan } from '../../src/reconcile/cleanup.js';

const vxlan = (name: string, id: number): HostLink => ({
  name, index: id + 10, mtu: 1450, mac: parseMAC('0e:00:00:00:00:01'), up: true, kind: 'vxlan',
  vxlan: { id, local: parseIP('192.0.2.10'), link: 'eth0', port: 8472, learning: false }, addrs: [],
});
const tun0 = (persist: boolean): HostLink => ({
  name: 'flannel0', index: 9, mtu: 1472, up: true, kind: 'tun', tun: { type: 'tun', pi: false, persist, multiQueue: false }, addrs: [],
});
const route = (dst: string, dev: string, proto: number, via?: string): HostRoute => ({ dst: parsePrefix(dst)!, dev, via: via ? parseIP(via) : undefined, onlink: Boolean(via), proto });

function host(links: HostLink[], routes: HostRoute[]): ActualState {
  return { links: new Map(links.map((l) => [l.name, l])), routes, neighbors: [], fdb: [] };
}

const eth0: HostLink = { name: 'eth0', index: 2, mtu: 1500, up: true, addrs: [parsePrefix('192.0.2.10/24')!] };
const converged = host([eth0, vxlan('flannel.1', 1)], [
  route('192.0.2.0/24', 'eth0', 2),
  route('10.244.1.0/24', 'flannel.1', 244, '10.244.1.0'),
  route('10.244.2.0/24', 'eth0', 244, '192.0.2.12'), // a DirectRouting peer
  route('203.0.113.0/24', 'eth0', 4, '192.0.2.1'),
]);

const natSummary = (p: CleanupPlan) => {
  const nat = p.netfilter.find((c) => c.family === 4 && c.set.table === 'nat');
  return String(nat?.rules.length ?? 0) + (nat?.deleteChain ? '+chain' : '');
};

const summary = (input: CleanupInput) => {
  const p = planCleanup(input);
  return {
    removed: p.changes.map((c) => c.key),
    kept: p.kept.map((k) => k.subject),
    nat: natSummary(p),
    file: p.subnetFile ?? null,
  };
};

const cases: Array<[name: string, input: CleanupInput, expect: ReturnType<typeof summary>]> = [
  ['ovlnet routes prove the device ovlnet\'s; foreign routes stay', { actual: converged },
    { removed: ['route:10.244.1.0/24', 'route:10.244.2.0/24', 'link:flannel.1'], kept: [], nat: '0', file: null }],
  ['a device with flannel\'s routes is kept', {
    actual: host([vxlan('flannel.1', 1)], [route('10.244.1.0/24', 'flannel.1', 3, '10.244.1.0')]),
  }, { removed: [], kept: ['link flannel.1'], nat: '0', file: null }],
  ['a bare device is kept: it may be flannel\'s', { actual: host([vxlan('flannel.1', 1)], []) },
    { removed: [], kept: ['link flannel.1'], nat: '0', file: null }],
  ['the source\'s VNI makes a bare device ovlnet\'s', { actual: host([vxlan('flannel.1', 1)], []), sourceVni: 1 },
    { removed: ['link:flannel.1'], kept: [], nat: '0', file: null }],
  ['the source\'s VNI does not outweigh foreign routes', {
    actual: host([vxlan('flannel.1', 1)], [route('10.244.1.0/24', 'flannel.1', 3, '10.244.1.0')]), sourceVni: 1,
  }, { removed: [], kept: ['link flannel.1'], nat: '0', file: null }],
  ['mixed routes: ovlnet\'s go, the device stays', {
    actual: host([vxlan('flannel.1', 1)], [route('10.244.1.0/24', 'flannel.1', 244, '10.244.1.0'), route('10.244.3.0/24', 'flannel.1', 3, '10.244.3.0')]),
  }, { removed: ['route:10.244.1.0/24'], kept: ['link flannel.1'], nat: '0', file: null }],
  ['--vni names the device', { actual: host([vxlan('flannel.1', 1), vxlan('flannel.2', 2)], []), vni: 2 },
    { removed: ['link:flannel.2'], kept: ['link flannel.1'], nat: '0', file: null }],
  ['--all-flannel-devices', { actual: host([vxlan('flannel.1', 1), vxlan('flannel.2', 2)], []), allFlannelDevices: true },
    { removed: ['link:flannel.1', 'link:flannel.2'], kept: [], nat: '0', file: null }],
  ['udp: a persistent flannel0 carrying ovlnet\'s network route is ovlnet\'s', {
    actual: host([tun0(true)], [route('10.244.0.0/16', 'flannel0', 244)]),
  }, { removed: ['route:10.244.0.0/16', 'link:flannel0'], kept: [], nat: '0', file: null }],
  ['udp: a non-persistent flannel0 (flanneld\'s own) is kept', {
    actual: host([tun0(false)], [route('10.244.0.0/16', 'flannel0', 244)]),
  }, { removed: ['route:10.244.0.0/16'], kept: ['link flannel0'], nat: '0', file: null }],
  ['udp: a flannel0 with a foreign route is kept', {
    actual: host([tun0(true)], [route('10.244.0.0/16', 'flannel0', 3)]),
  }, { removed: [], kept: ['link flannel0'], nat: '0', file: null }],
  ['a non-vxlan flannel.N and other vxlan names are never candidates', {
    actual: host([{ ...vxlan('flannel.3', 3), kind: 'bridge', vxlan: undefined }, vxlan('vx0', 5)], []), allFlannelDevices: true,
  }, { removed: [], kept: [], nat: '0', file: null }],
  ['--vni for a device that is not there', { actual: host([], []), vni: 4 },
    { removed: [], kept: ['--vni 4'], nat: '0', file: null }],
];
for (const [name, input, expect] of cases) test(`devices and routes: ${name}`, () => assert.equal(summary(input), expect));

const ours = planMasq(parsePrefix('10.244.0.0/16')!, parsePrefix('10.244.1.0/24')!);
const natOf = (rules: Array<{ chain: string; spec: string }>, chains = ['POSTROUTING', 'FLANNEL-POSTRTG']): NatState => ({ chains, rules });
const natCases: Array<[name: string, nat: NatState | undefined, expect: string, keptChain: boolean]> = [
  ['iptables not installed', undefined, '0', false],
  ['all ovlnet\'s: rules and chain', natOf(ours), '7+chain', false],
  // flannel's rules are ovlnet's own form: on a node taken over from flannel they are ovlnet's to remove.
  ['flannel\'s chain and jump (taken over): removed with the chain', natOf([
    { chain: 'POSTROUTING', spec: '-m comment --comment "flanneld masq" -j FLANNEL-POSTRTG' },
    { chain: 'FLANNEL-POSTRTG', spec: '-s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN' },
  ]), '2+chain', false],
  ['an older ovlnet\'s rules ("ovlnet masq"): removed too', natOf([
    { chain: 'POSTROUTING', spec: '-m comment --comment "ovlnet masq" -j FLANNEL-POSTRTG' },
    { chain: 'FLANNEL-POSTRTG', spec: '-s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "ovlnet masq" -j RETURN' },
  ]), '2+chain', false],
  ['ovlnet\'s rules in a chain a foreign rule jumps to: rules only', natOf([
    ...ours, { chain: 'POSTROUTING', spec: '-j FLANNEL-POSTRTG' },
  ]), '7', true],
  ['the same comment outside the chain and its jump: not ovlnet\'s', natOf([
    { chain: 'POSTROUTING', spec: '-s 10.9.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE' },
  ], ['POSTROUTING']), '0', false],
  ['a foreign rule in the chain: rules only', natOf([...ours, { chain: 'FLANNEL-POSTRTG', spec: '-s 10.0.0.0/8 -j RETURN' }]), '7', true],
  ['other masquerading left alone', natOf([{ chain: 'POSTROUTING', spec: '-s 172.17.0.0/16 -j MASQUERADE' }], ['POSTROUTING']), '0', false],
];
for (const [name, nat, expect, keptChain] of natCases) {
  test(`nat: ${name}`, () => {
    const p = planCleanup({ actual: host([], []), netfilter: nat && { '4/nat': nat } });
    assert.is(natSummary(p), expect);
    assert.is(p.kept.some((k) => k.subject === 'nat chain FLANNEL-POSTRTG'), keptChain);
    assert.ok(p.netfilter.every((c) => c.rules.every((r) => /"(flanneld|ovlnet) masq"/.test(r.spec))));
  });
}

const env = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';
const fileCases: Array<[name: string, text: string | undefined, explicit: boolean, removed: boolean]> = [
  ['no file', undefined, false, false],
  ['flannel\'s (no mark), default path: kept', env, false, false],
  ['marked by ovlnet', `# written by ovlnet; read by the flannel CNI plugin\n${env}`, false, true],
  ['named with --subnet-file', env, true, true],
  ['not a subnet.env, even when named', 'PATH=/bin\n', true, false],
];
for (const [name, text, explicit, removed] of fileCases) {
  test(`subnet file: ${name}`, () => {
    const p = planCleanup({ actual: host([], []), subnetFile: { path: '/run/flannel/subnet.env', text, explicit } });
    assert.is(p.subnetFile !== undefined, removed);
  });
}

test('subnet.env recognition', () => {
  assert.ok(isSubnetEnv(env));
  assert.not.ok(isSubnetEnv(''));
  assert.not.ok(isSubnetEnv('FLANNEL_NETWORK=x\nrm -rf /\n'));
  assert.ok(hasOvlnetMark('# ovlnet\nFLANNEL_MTU=1450'));
  assert.not.ok(hasOvlnetMark('FLANNEL_NOTE=ovlnet'));
});

test('isClean', () => {
  assert.ok(isClean(planCleanup({ actual: host([eth0], [route('192.0.2.0/24', 'eth0', 2)]), netfilter: { '4/nat': natOf([], ['POSTROUTING']) } })));
  assert.not.ok(isClean(planCleanup({ actual: converged })));
  assert.ok(MASQ_JUMP_SPEC.endsWith('-j FLANNEL-POSTRTG'));
});

test.run();
