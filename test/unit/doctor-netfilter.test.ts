// The filter-chain walk doctor's FORWARD and INPUT checks rely on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateChain, matchRule, parseFilterSave, specWords, type Packet } from '../../src/doctor/checks/netfilter-eval.js';
import { parsePrefix } from '../../src/model/ip.js';

const P = (s: string) => parsePrefix(s)!;

test('iptables-save: the filter table only, policies of built-in chains, rules in order', () => {
  const t = parseFilterSave('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n*filter\n:INPUT ACCEPT [1:2]\n:FORWARD DROP [0:0]\n:KUBE-FW - [0:0]\n-A FORWARD -j KUBE-FW\n-A KUBE-FW  -s 10.0.0.0/8   -j ACCEPT\nCOMMIT\n');
  assert.equal([...t.policies], [['INPUT', 'ACCEPT'], ['FORWARD', 'DROP']]);
  assert.equal(t.rules, [{ chain: 'FORWARD', spec: '-j KUBE-FW' }, { chain: 'KUBE-FW', spec: '-s 10.0.0.0/8 -j ACCEPT' }]);
});

test('words: quoted comments stay one word', () => {
  assert.equal(specWords('-s 10.0.0.0/8 -m comment --comment "flanneld forward" -j ACCEPT'), ['-s', '10.0.0.0/8', '-m', 'comment', '--comment', 'flanneld forward', '-j', 'ACCEPT']);
});

const pod: Packet = { src: P('198.18.0.0/16') };
const cases: Array<[spec: string, pkt: Packet, match: string]> = [
  ['-s 198.18.0.0/16 -j ACCEPT', pod, 'yes'],
  ['-s 198.0.0.0/8 -j ACCEPT', pod, 'yes'],
  ['-s 198.18.3.0/24 -j ACCEPT', pod, 'maybe'],
  ['-s 10.0.0.0/8 -j ACCEPT', pod, 'no'],
  ['! -s 198.18.0.0/16 -j DROP', pod, 'no'],
  ['-d 198.18.0.0/16 -j ACCEPT', pod, 'maybe'],
  ['-s 0.0.0.0/0 -j ACCEPT', {}, 'yes'],
  ['-p udp -m udp --dport 8472 -j DROP', { proto: 'udp', dport: 8472 }, 'yes'],
  ['-p tcp --dport 8472 -j DROP', { proto: 'udp', dport: 8472 }, 'no'],
  ['-p udp --dport 8000:9000 -j DROP', { proto: 'udp', dport: 8472 }, 'yes'],
  ['-p udp --dport 9000: -j DROP', { proto: 'udp', dport: 8472 }, 'no'],
  ['-p udp -m multiport --dports 53,8472 -j DROP', { proto: 'udp', dport: 8472 }, 'yes'],
  ['-p udp --dport 8472 -j DROP', { proto: 'udp' }, 'maybe'],
  ['-i eth0 -j DROP', { inIface: 'eth0' }, 'yes'],
  ['-i eth+ -j DROP', { inIface: 'eth0' }, 'yes'],
  ['-i eth1 -j DROP', { inIface: 'eth0' }, 'no'],
  ['-m conntrack --ctstate INVALID -j DROP', pod, 'maybe'],
  ['-m comment --comment "anything -s 10.0.0.0/8" -j ACCEPT', pod, 'yes'],
];
for (const [spec, pkt, match] of cases) {
  test(`rule ${spec} -> ${match}`, () => assert.is(matchRule(spec, pkt).match, match));
}

test('chain walk: jumps, RETURN, first decisive rule, policy at the end', () => {
  const t = parseFilterSave([
    '*filter', ':FORWARD DROP [0:0]', ':A - [0:0]', ':B - [0:0]',
    '-A FORWARD -j A', '-A A -s 198.18.0.0/16 -j RETURN', '-A A -j DROP',
    '-A FORWARD -j B', '-A B -s 198.18.0.0/16 -j ACCEPT', 'COMMIT',
  ].join('\n'));
  assert.equal(evaluateChain(t, 'FORWARD', pod), { verdict: 'accept', by: '-A B -s 198.18.0.0/16 -j ACCEPT', uncertain: [] });
  // Not from the pod network: A drops it.
  assert.is(evaluateChain(t, 'FORWARD', { src: P('10.0.0.0/8') }).verdict, 'drop');
  assert.equal(evaluateChain(t, 'INPUT', pod), { verdict: 'accept', by: 'INPUT policy ACCEPT', uncertain: [] });
});

test('chain walk: a loop of jumps ends', () => {
  const t = parseFilterSave('*filter\n:FORWARD DROP [0:0]\n:L - [0:0]\n-A FORWARD -j L\n-A L -j L\nCOMMIT\n');
  assert.is(evaluateChain(t, 'FORWARD', pod).verdict, 'drop');
});

test.run();
