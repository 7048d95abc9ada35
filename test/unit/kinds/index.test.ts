// The kinds registry: every kind's spec is filed under its own kind, says
// how it is written, and its comparison gives structured reasons that read
// as the detail text diff prints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryKey, KINDS, KIND_LIST, specOf } from '../../../src/kinds/index.js';
import { formatDifferences } from '../../../src/kinds/types.js';
import type { Entry, LinkEntry } from '../../../src/model/types.js';
import { ip, mac, pfx } from '../support/build.js';

const LINK: LinkEntry = {
  kind: 'link', name: 'flannel.1', vni: 1, local: ip('192.0.2.10'), underlay: 'eth0', port: 8472, learning: false, mtu: 1450, mac: mac('0e:00:00:00:00:00'), up: true,
};

const rows: Array<[Entry, string, string]> = [
  [LINK, 'link:flannel.1', 'link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning mtu 1450 address 0e:00:00:00:00:00'],
  [{ kind: 'tun', name: 'flannel0', mtu: 1472, up: true }, 'link:flannel0', 'link flannel0 tun persistent mtu 1472'],
  [{ kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') }, 'addr:flannel.1/198.18.0.0/32', 'addr 198.18.0.0/32 dev flannel.1'],
  [{ kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') }, 'neigh:flannel.1/198.18.1.0', 'neigh 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 permanent'],
  [{ kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') }, 'fdb:flannel.1/0e:00:00:00:00:01/192.0.2.11', 'fdb 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent'],
  [{ kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 }, 'route:198.18.1.0/24', 'route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink'],
  [{ kind: 'offload', dev: 'flannel.1', feature: 'tx-checksum-ip-generic', enabled: false }, 'offload:flannel.1/tx-checksum-ip-generic', 'offload flannel.1 tx-checksum-ip-generic off'],
  [{ kind: 'sysctl', dev: 'flannel.1', name: 'accept_ra', value: 0 }, 'sysctl:flannel.1/accept_ra', 'sysctl net/ipv6/conf/flannel.1/accept_ra = 0'],
  [{ kind: 'wg-device', name: 'flannel-wg', mtu: 1440, listenPort: 51820, up: true }, 'link:flannel-wg', 'link flannel-wg wireguard listen-port 51820 mtu 1440'],
  [{ kind: 'wg-peer', dev: 'flannel-wg', publicKey: 'k', endpoint: '192.0.2.11:51820', allowedIPs: [pfx('198.18.1.0/24')], keepalive: 25 }, 'wg-peer:flannel-wg/k',
    'wg peer k dev flannel-wg endpoint 192.0.2.11:51820 allowed-ips 198.18.1.0/24 persistent-keepalive 25'],
  [{ kind: 'nat', chain: 'POSTROUTING', spec: '-j X' }, 'nat:POSTROUTING/-j X', 'nat POSTROUTING -j X'],
  [{ kind: 'filter', family: 6, chain: 'FORWARD', spec: '-j X' }, 'filter6:FORWARD/-j X', 'ip6 filter FORWARD -j X'],
];

test('every kind: key and description from its spec', () => {
  for (const [e, key, text] of rows) {
    assert.is(entryKey(e), key, e.kind);
    assert.is(specOf(e.kind).describe(e), text, e.kind);
  }
  assert.equal(rows.map(([e]) => e.kind).sort(), Object.keys(KINDS).sort(), 'a row per kind');
});

test('the registry files each spec under its own kind, and each says how it is written', () => {
  for (const [kind, spec] of Object.entries(KINDS)) {
    assert.is(spec.kind, kind);
    const batch = spec.writer === 'ip' || spec.writer === 'bridge';
    assert.is(Boolean(spec.lines), batch, `${kind}: batch lines exactly when an ip/bridge writer`);
    assert.is(Boolean(spec.phases), !batch, `${kind}: its own phases exactly when a driver writer`);
  }
  assert.is(KIND_LIST.length, Object.keys(KINDS).length);
});

test('every kind whose entries name a device says so (onDevice): a deleted device takes them along in the daemon\'s kernel model', () => {
  // A row per kind (checked above): a new kind with a `dev` field, or a device of its own (a `link:` key), fails here until its spec has onDevice.
  for (const [e] of rows) {
    const spec = specOf(e.kind);
    const named = 'dev' in e ? e.dev : entryKey(e).startsWith('link:') ? (e as { name: string }).name : undefined;
    if (named === undefined) {
      assert.is(spec.onDevice, undefined, `${e.kind}: on no device`);
      continue;
    }
    assert.ok(spec.onDevice, `${e.kind}: its entries hang on a device: onDevice in its spec`);
    assert.is(spec.onDevice.device(e), named, `${e.kind}: the device`);
  }
});

const linkRows: Array<[string, Partial<LinkEntry>, Array<{ field: string; recreate: boolean }>, string]> = [
  ['in sync', {}, [], ''],
  ['mtu', { mtu: 1400 }, [{ field: 'mtu', recreate: false }], 'mtu 1400 -> 1450'],
  ['port and mtu: recreate first', { port: 4789, mtu: 1400 }, [{ field: 'dstport', recreate: true }, { field: 'mtu', recreate: false }], 'dstport 4789 -> 8472, mtu 1400 -> 1450'],
  ['learning', { learning: true }, [{ field: 'learning', recreate: true }], 'learning -> nolearning'],
  ['down', { up: false }, [{ field: 'state', recreate: false }], 'down -> up'],
  ['underlay unknown', { underlay: '' }, [{ field: 'dev', recreate: true }], 'dev (none) -> eth0'],
];

test('link comparison: structured differences, recreating ones flagged, read as the detail text', () => {
  for (const [name, actual, fields, text] of linkRows) {
    const ds = KINDS.link.compare(LINK, { ...LINK, ...actual });
    assert.equal(ds.map((d) => ({ field: d.field, recreate: d.recreate === true })), fields, name);
    assert.is(formatDifferences(ds), text, name);
  }
});

test.run();
