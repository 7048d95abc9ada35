import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKernelRelease, parseTxOffloadMode, shouldDisableTxOffload } from '../../../../src/backends/vxlan/offload.js';
import { parseFeatures, setFeatureArgs } from '../../../../src/host/ethtool.js';

const cases: Array<[mode: 'auto' | 'on' | 'off', release: string, disable: boolean]> = [
  ['auto', '4.19.0-26-amd64', true],
  ['auto', '5.4.0-150-generic', true],
  ['auto', '5.6.19', true],
  ['auto', '5.7.0', false],
  ['auto', '5.10.0-28-amd64', false],
  ['auto', '6.1.0-18-cloud-amd64', false],
  ['auto', '3.10.0-1160.el7.x86_64', true],
  ['auto', 'garbage', true], // unreadable: the workaround is the safe side
  ['on', '6.8.0', true],
  ['off', '4.4.0', false],
];
for (const [mode, release, disable] of cases) {
  test(`--disable-tx-offload ${mode} on ${release} -> ${disable ? 'disable' : 'leave'}`, () => {
    assert.is(shouldDisableTxOffload(mode, release), disable);
  });
}

test('kernel release parsing', () => {
  assert.equal(parseKernelRelease('5.15.0-91-generic'), [5, 15]);
  assert.equal(parseKernelRelease(' 6.18.44-fc '), [6, 18]);
  assert.is(parseKernelRelease('linux'), undefined);
});

test('mode parsing', () => {
  assert.is(parseTxOffloadMode(undefined), 'auto');
  assert.is(parseTxOffloadMode('on'), 'on');
  assert.throws(() => parseTxOffloadMode('yes'), /expected auto, on or off/);
});

test('ethtool -k output', () => {
  const f = parseFeatures('Features for flannel.1:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\n\ttx-checksum-ip-generic: on\n');
  assert.equal(f.get('tx-checksum-ip-generic'), { enabled: true, fixed: false });
  assert.equal(f.get('tx-checksum-ipv4'), { enabled: false, fixed: true });
  assert.is(f.has('Features for flannel.1'), false);
});

test('ethtool -K arguments come from checked values only', () => {
  assert.equal(setFeatureArgs({ kind: 'offload', dev: 'flannel.1', feature: 'tx-checksum-ip-generic', enabled: false }), ['-K', 'flannel.1', 'tx-checksum-ip-generic', 'off']);
  assert.throws(() => setFeatureArgs({ kind: 'offload', dev: 'eth0 up', feature: 'x', enabled: false }));
  assert.throws(() => setFeatureArgs({ kind: 'offload', dev: 'flannel.1', feature: 'x off; rm', enabled: false }));
});

test.run();
