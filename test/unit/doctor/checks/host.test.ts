// The host checks' decisions on recorded facts: one row per case.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkBridgeNf, checkCni0, checkOverlayDevice, checkForwardChain, checkForwarding, checkInputPort, checkMTU, checkRpFilter, checkTxOffload, checkUnderlay,
  hostChecks, localBlockers, type HostFacts,
} from '../../../../src/doctor/checks/host.js';
import { parseFilterSave } from '../../../../src/doctor/checks/netfilter-eval.js';
import { parseIP, parsePrefix, type Prefix } from '../../../../src/model/ip.js';
import type { CheckResult } from '../../../../src/doctor/types.js';

const P = (s: string): Prefix => parsePrefix(s)!;
const save = (filter: string) => parseFilterSave(`*filter\n${filter}\nCOMMIT\n`);
const OPEN = save(':INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]');

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    networks: [P('198.18.0.0/16')],
    localSubnet: P('198.18.3.0/24'),
    sysctl: {
      'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.flannel/1.rp_filter': '0',
      'net.ipv4.conf.cni0.rp_filter': '0', 'net.bridge.bridge-nf-call-iptables': '1',
    },
    filter: OPEN,
    backend: { type: 'vxlan', port: 8472, device: 'flannel.1', overhead: 50 },
    localPublicIP: parseIP('192.0.2.13')!,
    peers: [{ name: 'node-a', publicIP: parseIP('192.0.2.10')! }, { name: 'node-b', publicIP: parseIP('192.0.2.11')! }],
    underlay: { dev: 'eth0', exists: true, up: true, carrier: true, mtu: 1500 },
    overlay: { dev: 'flannel.1', mtu: 1450, up: true },
    kernelRelease: '6.1.0',
    cni0: [P('198.18.3.1/24')],
    gateway: P('198.18.3.1/24'),
    ...over,
  };
}

type Case = [what: string, check: (f: HostFacts) => CheckResult | CheckResult[], over: Partial<HostFacts>, want: Array<[status: string, message: RegExp, peer?: string]>];

const cases: Case[] = [
  ['ip_forward on', checkForwarding, {}, [['pass', /ip_forward = 1/]]],
  ['ip_forward off', checkForwarding, { sysctl: { 'net.ipv4.ip_forward': '0' } }, [['fail', /ip_forward = 0: this host does not forward/]]],
  ['ip_forward unreadable', checkForwarding, { sysctl: {} }, [['warn', /could not be read/]]],
  ['dual stack: IPv6 forwarding off', checkForwarding, { networks: [P('198.18.0.0/16'), P('2001:db8:100::/48')], sysctl: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '0' } },
    [['pass', /ip_forward = 1/], ['fail', /ipv6.conf.all.forwarding = 0/]]],
  ['rp_filter loose everywhere', checkRpFilter, { sysctl: { 'net.ipv4.conf.all.rp_filter': '2', 'net.ipv4.conf.flannel/1.rp_filter': '1' } }, [['pass', /no strict/]]],
  ['rp_filter strict on flannel.1', checkRpFilter, { sysctl: { 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.flannel/1.rp_filter': '1', 'net.ipv4.conf.cni0.rp_filter': '0' } }, [['warn', /strict .* on flannel\.1$|strict.*flannel\.1:/]]],
  ['rp_filter strict through "all"', checkRpFilter, { sysctl: { 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.flannel/1.rp_filter': '0', 'net.ipv4.conf.cni0.rp_filter': '0' } }, [['warn', /flannel\.1, cni0/]]],
  ['bridge-nf on', checkBridgeNf, {}, [['pass', /= 1/]]],
  ['bridge-nf off', checkBridgeNf, { sysctl: { 'net.bridge.bridge-nf-call-iptables': '0' } }, [['warn', /= 0: Service traffic/]]],
  ['br_netfilter not loaded', checkBridgeNf, { sysctl: {} }, [['warn', /br_netfilter is not loaded/]]],
  ['no cni0: bridge-nf does not matter', checkBridgeNf, { cni0: undefined, sysctl: {} }, [['pass', /no cni0/]]],
  ['FORWARD policy ACCEPT', checkForwardChain, {}, [['pass', /forwarded both ways \(FORWARD policy ACCEPT\)/]]],
  ['FORWARD policy DROP, no rules', checkForwardChain, { filter: save(':FORWARD DROP [0:0]') }, [['fail', /from 198\.18\.0\.0\/16 \(FORWARD policy DROP\), to 198\.18\.0\.0\/16/]]],
  ['FORWARD DROP, flannel-style accept rules in a chain of their own', checkForwardChain, {
    filter: save(':FORWARD DROP [0:0]\n:FLANNEL-FWD - [0:0]\n-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n-A FLANNEL-FWD -s 198.18.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT\n-A FLANNEL-FWD -d 198.18.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT'),
  }, [['pass', /both ways \(FORWARD policy DROP\)/]]],
  ['FORWARD DROP, accepted one way only', checkForwardChain, { filter: save(':FORWARD DROP [0:0]\n-A FORWARD -s 198.18.0.0/16 -j ACCEPT') }, [['fail', /to 198\.18\.0\.0\/16 \(FORWARD policy DROP\)/]]],
  ['FORWARD ACCEPT, but an explicit drop of pod traffic first', checkForwardChain, { filter: save(':FORWARD ACCEPT [0:0]\n-A FORWARD -d 198.18.0.0/16 -j REJECT --reject-with icmp-port-unreachable') }, [['fail', /to 198\.18\.0\.0\/16 \(-A FORWARD -d 198\.18\.0\.0\/16 -j REJECT/]]],
  ['FORWARD DROP, only a rule doctor can not judge accepts', checkForwardChain, { filter: save(':FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT') }, [['warn', /may be dropped.*unless -A FORWARD -m conntrack/]]],
  ['FORWARD DROP, accept rule for a smaller prefix only', checkForwardChain, { filter: save(':FORWARD DROP [0:0]\n-A FORWARD -s 198.18.3.0/24 -j ACCEPT\n-A FORWARD -d 198.18.0.0/16 -j ACCEPT') }, [['warn', /from 198\.18\.0\.0\/16/]]],
  ['iptables not installed', checkForwardChain, { filter: undefined, filterError: 'iptables-save not found in PATH' }, [['warn', /the iptables FORWARD chain could not be read \(iptables-save not found/]]],
  ['dual stack: the IPv6 network judged by ip6tables', checkForwardChain, { networks: [P('198.18.0.0/16'), P('2001:db8:100::/48')], localPublicIP6: parseIP('2001:db8:1::13')!, filter6: save(':FORWARD DROP [0:0]\n-A FORWARD -s 2001:db8:100::/48 -j ACCEPT') },
    [['fail', /^forwarded pod traffic is dropped: to 2001:db8:100::\/48 \(FORWARD policy DROP\)$/]]],
  ['dual stack: both families accepted', checkForwardChain, { networks: [P('198.18.0.0/16'), P('2001:db8:100::/48')], localPublicIP6: parseIP('2001:db8:1::13')!, filter6: save(':FORWARD ACCEPT [0:0]') },
    [['pass', /FORWARD policy ACCEPT, ip6tables FORWARD policy ACCEPT/]]],
  ['dual stack: ip6tables not readable', checkForwardChain, { networks: [P('198.18.0.0/16'), P('2001:db8:100::/48')], filter6Error: 'ip6tables-save not found in PATH' },
    [['warn', /2001:db8:100::\/48: the ip6tables FORWARD chain could not be read/]]],
  ['INPUT open', checkInputPort, {}, [['pass', /accepts UDP 8472/]]],
  ['INPUT drops the vxlan port', checkInputPort, { filter: save(':INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 8472 -j DROP') }, [['fail', /drops the backend's UDP port 8472: -A INPUT -p udp -m udp --dport 8472 -j DROP/]]],
  ['INPUT drops a port range holding it', checkInputPort, { filter: save(':INPUT ACCEPT [0:0]\n-A INPUT -p udp -m multiport --dports 53,8000:9000 -j REJECT') }, [['fail', /8472/]]],
  ['INPUT drops another port', checkInputPort, { filter: save(':INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 4789 -j DROP') }, [['pass', /accepts UDP 8472/]]],
  ['INPUT policy DROP with the port allowed', checkInputPort, { filter: save(':INPUT DROP [0:0]\n-A INPUT -p udp --dport 8472 -j ACCEPT') }, [['pass', /accepts/]]],
  ['INPUT policy DROP without the port', checkInputPort, { filter: save(':INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT') }, [['fail', /INPUT policy DROP/]]],
  ['INPUT drops one peer: that peer is named', checkInputPort, { filter: save(':INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.11/32 -p udp --dport 8472 -j DROP') }, [['fail', /from 192\.0\.2\.11/, 'node-b']]],
  ['INPUT accepts on another interface only', checkInputPort, { filter: save(':INPUT DROP [0:0]\n-A INPUT -i eth1 -p udp --dport 8472 -j ACCEPT') }, [['fail', /INPUT policy DROP/]]],
  ['negated match', checkInputPort, { filter: save(':INPUT ACCEPT [0:0]\n-A INPUT -p udp ! --dport 8472 -j DROP') }, [['pass', /accepts/]]],
  ['dual stack: ip6tables drops the port on the IPv6 underlay', checkInputPort, { localPublicIP6: parseIP('2001:db8:1::13')!, filter6: save(':INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 8472 -j DROP') },
    [['pass', /^INPUT accepts UDP 8472/], ['fail', /^ip6tables INPUT drops the backend's UDP port 8472/]]],
  ['host-gw: no port to check', checkInputPort, { backend: { type: 'host-gw' } }, []],
  ['underlay fine', checkUnderlay, {}, [['pass', /eth0 is up with carrier/]]],
  ['underlay missing', checkUnderlay, { underlay: { dev: 'eth0', exists: false, up: false, carrier: false, mtu: 1500 } }, [['fail', /does not exist/]]],
  ['underlay down', checkUnderlay, { underlay: { dev: 'eth0', exists: true, up: false, carrier: false, mtu: 1500 } }, [['fail', /eth0 is down/]]],
  ['underlay without carrier', checkUnderlay, { underlay: { dev: 'eth0', exists: true, up: true, carrier: false, mtu: 1500 } }, [['fail', /no carrier/]]],
  ['overlay device up', checkOverlayDevice, {}, [['pass', /flannel\.1 is up/]]],
  ['overlay device missing', checkOverlayDevice, { overlay: undefined }, [['fail', /flannel\.1 does not exist/]]],
  ['overlay device down', checkOverlayDevice, { overlay: { dev: 'flannel.1', mtu: 1450, up: false } }, [['fail', /flannel\.1 is down/]]],
  ['udp: flannel0 held by the forwarder', checkOverlayDevice, { backend: { type: 'udp', port: 8285, device: 'flannel0', overhead: 28 }, overlay: { dev: 'flannel0', mtu: 1472, up: true, carrier: true } }, [['pass', /flannel0 is up/]]],
  ['udp: no forwarder on flannel0', checkOverlayDevice, { backend: { type: 'udp', port: 8285, device: 'flannel0', overhead: 28 }, overlay: { dev: 'flannel0', mtu: 1472, up: true, carrier: false } }, [['fail', /no forwarder holds flannel0/]]],
  ['host-gw: no overlay device', checkOverlayDevice, { backend: { type: 'host-gw' }, overlay: undefined }, []],
  ['MTU fits', checkMTU, {}, [['pass', /1450 fits eth0 MTU 1500/]]],
  ['MTU too large for a smaller underlay', checkMTU, { underlay: { dev: 'eth0', exists: true, up: true, carrier: true, mtu: 1400 } }, [['fail', /flannel\.1 MTU 1450 \+ 50 bytes .* > eth0 MTU 1400/]]],
  ['MTU: no overlay device yet', checkMTU, { overlay: undefined }, []],
  ['offload: new kernel', checkTxOffload, {}, [['pass', /not affected/]]],
  ['offload: old kernel, feature on', checkTxOffload, { kernelRelease: '5.4.0-150-generic', txChecksum: true }, [['warn', /63 s/]]],
  ['offload: old kernel, feature off', checkTxOffload, { kernelRelease: '5.4.0', txChecksum: false }, [['pass', /is off/]]],
  ['offload: host-gw has no vxlan device', checkTxOffload, { backend: { type: 'host-gw' }, kernelRelease: '4.19.0' }, []],
  ['cni0 holds the gateway', checkCni0, {}, [['pass', /holds the gateway 198\.18\.3\.1\/24/]]],
  ['cni0 holds a wrong address', checkCni0, { cni0: [P('198.18.9.1/24')] }, [['fail', /cni0 holds 198\.18\.9\.1\/24, not this node's gateway 198\.18\.3\.1\/24/]]],
  ['cni0 holds no address', checkCni0, { cni0: [] }, [['fail', /holds no address/]]],
  ['cni0 holds the gateway and another', checkCni0, { cni0: [P('198.18.3.1/24'), P('10.0.0.1/24')] }, [['warn', /also 10\.0\.0\.1\/24/]]],
  ['no cni0 yet', checkCni0, { cni0: undefined }, [['pass', /no cni0 bridge yet/]]],
];

for (const [what, check, over, want] of cases) {
  test(`host: ${what}`, () => {
    const got = [check(facts(over))].flat();
    assert.equal(got.map((r) => r.status), want.map((w) => w[0]), JSON.stringify(got));
    want.forEach(([, re, peer], i) => {
      assert.match(got[i].message, re);
      assert.is(got[i].peer, peer);
      if (got[i].status !== 'pass') assert.ok(got[i].hint || got[i].status === 'warn', `a failure has a hint: ${JSON.stringify(got[i])}`);
    });
  });
}

test('a healthy host passes every host check', () => {
  const all = hostChecks(facts());
  assert.ok(all.length >= 9);
  assert.equal(all.filter((c) => c.status !== 'pass'), []);
});

test('local blockers: INPUT drop, underlay, overlay device and MTU failures of this host; not a peer-specific drop, not a warning', () => {
  const r = (name: string, status: CheckResult['status'], peer?: string): CheckResult => ({ name, status, message: '', ...(peer ? { peer } : {}) });
  const got = localBlockers([r('host.input', 'fail'), r('host.input', 'fail', 'node-b'), r('host.underlay', 'fail'), r('host.overlay', 'fail'), r('host.mtu', 'fail'), r('host.ip_forward', 'fail'), r('host.forward', 'warn')]);
  assert.equal(got.map((c) => `${c.name}${c.peer ? ` ${c.peer}` : ''}`), ['host.input', 'host.underlay', 'host.overlay', 'host.mtu']);
});

test('local blockers: a backend\'s own failing row that says it blocks the overlay (Backend.doctor), not its warnings or rows that do not', () => {
  const r = (name: string, status: CheckResult['status'], blocksOverlay?: boolean): CheckResult => ({ name, status, message: '', ...(blocksOverlay ? { blocksOverlay } : {}) });
  const got = localBlockers([r('host.wireguard', 'fail', true), r('host.other', 'fail'), r('host.wireguard', 'warn', true), r('host.wireguard', 'pass', true)]);
  assert.equal(got.map((c) => `${c.name} ${c.status}`), ['host.wireguard fail']);
});

test.run();
