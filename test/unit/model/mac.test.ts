import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { macFromName, nonUnicastMACReason, parseMAC } from '../../../src/model/mac.js';
import { entryKey } from '../../../src/kinds/index.js';
import { isValidDeviceName, vxlanDeviceName } from '../../../src/model/keys.js';
import { mac, pfx, ip } from '../support/build.js';

const MACS: Array<[unknown, string | undefined]> = [
  ['0e:5a:3c:11:22:33', '0e:5a:3c:11:22:33'],
  ['0E:5A:3C:11:22:33', '0e:5a:3c:11:22:33'],
  ['00:00:00:00:00:00', '00:00:00:00:00:00'],
  ['0e-5a-3c-11-22-33', undefined],
  ['0e5a.3c11.2233', undefined],
  ['0e:5a:3c:11:22', undefined],
  ['0e:5a:3c:11:22:33:44', undefined],
  ['e:5a:3c:11:22:33', undefined],
  ['0e:5a:3c:11:22:3g', undefined],
  ['0e:5a:3c:11:22:33 ', undefined],
  [' 0e:5a:3c:11:22:33', undefined],
  ['0e:5a:3c:11:22:33\n', undefined],
  ['0e:5a:3c:11:22:33 dev eth0', undefined],
  ['0e:5a:3c:11:22:33\nlink del eth0', undefined],
  ['', undefined],
  [null, undefined],
  [0x0e5a3c112233, undefined],
];

test('parseMAC', () => {
  for (const [input, want] of MACS) assert.is(parseMAC(input)?.text, want, `parseMAC(${JSON.stringify(input)})`);
});

test('nonUnicastMACReason', () => {
  const rows: Array<[string, string | undefined]> = [
    ['0e:5a:3c:11:22:33', undefined],
    ['02:00:00:00:00:01', undefined],
    ['00:00:00:00:00:01', undefined],
    ['00:00:00:00:00:00', 'all zero'],
    ['ff:ff:ff:ff:ff:ff', 'broadcast'],
    ['01:00:5e:00:00:01', 'multicast'],
    ['33:33:00:00:00:01', 'multicast'],
    ['0f:00:00:00:00:00', 'multicast'],
  ];
  for (const [m, want] of rows) assert.is(nonUnicastMACReason(mac(m)), want, m);
});

test('macFromName: deterministic, locally administered unicast, distinct per name', () => {
  const names = ['node-a', 'node-b', 'node-c', '', 'a'.repeat(253), 'nöde', 'node-a ', 'NODE-A'];
  const seen = new Map<string, string>();
  for (const n of names) {
    const m = macFromName(n);
    assert.is(macFromName(n).text, m.text, `deterministic for ${JSON.stringify(n)}`);
    assert.ok(parseMAC(m.text), `valid MAC text ${m.text}`);
    const first = parseInt(m.text.slice(0, 2), 16);
    assert.is(first & 0x02, 0x02, `locally administered bit set for ${n}: ${m.text}`);
    assert.is(first & 0x01, 0, `unicast for ${n}: ${m.text}`);
    assert.is(nonUnicastMACReason(m), undefined);
    assert.not.ok(seen.has(m.text), `collision between ${JSON.stringify(n)} and ${JSON.stringify(seen.get(m.text))}`);
    seen.set(m.text, n);
  }
  // Pinned: every node must compute the same MAC for a peer, across ovlnet
  // versions (a rolling upgrade mixes them); changing the derivation breaks that.
  assert.is(macFromName('node-a').text, 'b6:85:8e:a7:92:f3');
  assert.is(macFromName('node-b').text, '3e:44:b5:5c:36:a2');
});

test('macFromName: bits hold over many names', () => {
  for (let i = 0; i < 2000; i++) {
    const first = parseInt(macFromName(`n${i}`).text.slice(0, 2), 16);
    assert.is(first & 0x03, 0x02, `n${i}`);
  }
});

test('isValidDeviceName', () => {
  const rows: Array<[unknown, boolean]> = [
    ['eth0', true],
    ['flannel.1', true],
    ['flannel.9999999', true], // 15 characters: the kernel's IFNAMSIZ - 1
    ['flannel.16777215', false], // 16 characters: the kernel would refuse it
    ['enp0s31f6', true],
    ['br-0_a.b', true],
    ['a', true],
    ['a'.repeat(15), true],
    ['a'.repeat(16), false],
    ['', false],
    ['-eth0', false],
    ['.eth0', false],
    ['eth 0', false],
    ['eth0\n', false],
    ['eth0\nlink del eth1', false],
    ['eth0;', false],
    ['eth0/1', false],
    ['eth0:1', false],
    ['ëth0', false],
    ['dev', false],
    ['via', false],
    ['onlink', false],
    ['proto', false],
    ['default', false],
    ['all', false],
    ['any', false],
    [42, false],
    [undefined, false],
  ];
  for (const [n, want] of rows) assert.is(isValidDeviceName(n), want, JSON.stringify(n));
  assert.is(vxlanDeviceName(1), 'flannel.1');
  assert.is(vxlanDeviceName(4096), 'flannel.4096');
});

test('entryKey', () => {
  assert.is(entryKey({ kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 }), 'route:198.18.1.0/24');
  assert.is(entryKey({ kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') }), 'neigh:flannel.1/198.18.1.0');
  assert.is(entryKey({ kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') }), 'fdb:flannel.1/0e:00:00:00:00:01/192.0.2.11');
  assert.is(entryKey({ kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') }), 'addr:flannel.1/198.18.0.0/32');
});

test('nonUnicastMACReason: the group bit of every first octet, either case', () => {
  for (let o = 0; o < 256; o++) {
    for (const hex of [o.toString(16).padStart(2, '0'), o.toString(16).padStart(2, '0').toUpperCase()]) {
      const m = parseMAC(`${hex}:00:00:00:00:01`)!;
      assert.is(nonUnicastMACReason(m), o & 1 ? 'multicast' : undefined, hex);
    }
  }
});

test.run();
