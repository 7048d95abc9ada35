import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import type { Setting } from '../../../../src/cli/settings.js';
import { configJSON, configText } from '../../../../src/render/views/config.js';

const plain = new Chalk({ level: 0 });

test('config view: value and origin of each setting; secrets shown as set; hidden ones only when set', () => {
  const rows: Array<[Setting, string | null, object | null]> = [
    [{ key: 'ip-masq', attr: 'ipMasq', value: true, origin: 'env', from: 'OVLNET_IP_MASQ' }, 'ip-masq  true  env OVLNET_IP_MASQ', { key: 'ip-masq', value: true, origin: 'env', from: 'OVLNET_IP_MASQ' }],
    [{ key: 'iface', attr: 'iface', value: ['eth0', 'eth1'], origin: 'file', from: '/etc/ovlnet/ovlnet.yaml' }, 'iface  eth0,eth1  file /etc/ovlnet/ovlnet.yaml', { key: 'iface', value: ['eth0', 'eth1'], origin: 'file', from: '/etc/ovlnet/ovlnet.yaml' }],
    [{ key: 'etcd-password', attr: 'etcdPassword', value: 'hunter2', origin: 'flag', from: '--etcd-password' }, 'etcd-password  (set)  flag --etcd-password', { key: 'etcd-password', value: '(set)', origin: 'flag', from: '--etcd-password' }],
    [{ key: 'node', attr: 'node', value: undefined, origin: 'default' }, 'node  -  default', { key: 'node', value: null, origin: 'default' }],
    [{ key: 'etcd-endpoints', attr: 'etcdEndpoints', value: undefined, origin: 'default', hidden: true }, null, null],
    [{ key: 'etcd-endpoints', attr: 'etcdEndpoints', value: 'https://x', origin: 'flag', from: '--etcd-endpoints', hidden: true }, 'etcd-endpoints  https://x  flag --etcd-endpoints', { key: 'etcd-endpoints', value: 'https://x', origin: 'flag', from: '--etcd-endpoints' }],
  ];
  for (const [s, line, json] of rows) {
    const text = configText({ command: 'daemon', settings: [s] }, plain, 'plain').split('\n');
    assert.is(text[0], 'Settings of ovlnet daemon  config file (none)');
    const body = text.slice(2).map((l) => l.replace(/ {2,}/g, '  ').trim());
    assert.equal(body, line === null ? [] : [line], s.key);
    assert.not.ok(text.join('\n').includes('hunter2'));
    const j = configJSON({ command: 'daemon', configFile: '/etc/ovlnet/ovlnet.yaml', settings: [s] }) as { version: number; configFile: string; settings: object[] };
    assert.is(j.version, 1);
    assert.is(j.configFile, '/etc/ovlnet/ovlnet.yaml');
    assert.equal(j.settings, json === null ? [] : [json], s.key);
  }
});

test.run();
