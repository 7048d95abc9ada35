// The monitor parsers against output recorded from a real ip/bridge
// (test/fixtures/host/monitor/, iproute2 6.1), line by line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBridgeFdbLine, parseIpMonitorLine, type KernelEvent } from '../../../src/host/parse-monitor.js';

const FIX = fileURLToPath(new URL('../../../../test/fixtures/host/monitor/', import.meta.url));
const lines = (name: string) => readFileSync(FIX + name, 'utf8').split('\n').filter((l) => l.length > 0);

/** An event as comparable text: what the daemon reads of it. */
function show(e: KernelEvent | undefined): string | undefined {
  if (!e) return undefined;
  const d = e.deleted ? 'del ' : '';
  switch (e.kind) {
    case 'route': {
      const r = e.route;
      return `${d}route ${r.type ? `${r.type} ` : ''}${r.dst.text}${r.via ? ` via ${r.via.text}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.onlink ? ' onlink' : ''} proto ${r.proto}`;
    }
    case 'neigh': return `${d}neigh ${e.ip.text} dev ${e.dev}${e.mac ? ` lladdr ${e.mac.text}` : ''} ${e.states.join(',')}`;
    case 'fdb': return `${d}fdb ${e.mac.text} dev ${e.dev} dst ${e.dst.text}${e.self ? ' self' : ''}${e.permanent ? ' permanent' : ''}`;
    case 'link': return `${d}link ${e.index} ${e.name} ${e.up ? 'up' : 'down'}`;
  }
}

test('ip monitor: every recorded line', () => {
  const got = lines('ip-monitor.txt').map((l) => show(parseIpMonitorLine(l)));
  assert.equal(got, [
    'neigh 198.18.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 PERMANENT',
    'route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink proto 242',
    // the vxlan fdb entry, as `ip monitor neigh` sees the bridge family's neighbour
    'neigh 192.0.2.2 dev flannel.1 lladdr 02:00:00:00:00:02 NOARP,PERMANENT',
    'route 2001:db8:2::/64 via 2001:db8:2:: dev flannel.1 onlink proto 242',
    'neigh 2001:db8:2:: dev flannel.1 lladdr 02:00:00:00:00:03 PERMANENT',
    'route blackhole 198.18.9.0/24 proto 3',
    undefined, // table 100
    'route 198.18.7.0/24 dev lo proto 3',
    'neigh 192.0.2.3 dev flannel.1 lladdr 02:00:00:00:00:02 NOARP,PERMANENT',
    'del route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink proto 242',
    'neigh 198.18.2.0 dev flannel.1 FAILED',
    'del neigh 198.18.2.0 dev flannel.1 FAILED',
    'neigh 2001:db8:2:: dev flannel.1 FAILED',
    'del neigh 2001:db8:2:: dev flannel.1 FAILED',
    'del neigh 192.0.2.3 dev flannel.1 lladdr 02:00:00:00:00:02 NOARP,PERMANENT',
    'link 2 flannel.1 down',
    undefined, // link/[1] continuation
    'del route 2001:db8:1::/128 dev flannel.1 proto 2',
    'del route 2001:db8:2::/64 via 2001:db8:2:: dev flannel.1 onlink proto 242',
    'del route fe80::/64 dev flannel.1 proto 2',
    undefined, // table 255 (local)
    'del neigh ff02::1:ff00:0 dev flannel.1 lladdr 33:33:ff:00:00:00 NOARP',
    'del neigh ff02::16 dev flannel.1 lladdr 33:33:00:00:00:16 NOARP',
    'link 2 flannel.1 up',
    undefined,
    undefined,
    'route fe80::/64 dev flannel.1 proto 2',
    'link 3 veth1 down',
    undefined,
    'link 4 veth0 down',
    undefined,
    'del link 4 veth0 down',
    undefined,
    'del link 3 veth1 down',
    undefined,
    'link 2 flannel.1 down',
    undefined,
    'del route fe80::/64 dev flannel.1 proto 2',
    undefined,
    'del neigh ff02::16 dev flannel.1 lladdr 33:33:00:00:00:16 NOARP',
    undefined, // local route, table 255
    'del link 2 flannel.1 down',
    undefined,
  ]);
});

test('bridge monitor fdb: every recorded line', () => {
  assert.equal(lines('bridge-monitor-fdb.txt').map((l) => show(parseBridgeFdbLine(l))), [
    'fdb 02:00:00:00:00:02 dev flannel.1 dst 192.0.2.2 self permanent',
    'fdb 02:00:00:00:00:02 dev flannel.1 dst 192.0.2.3 self permanent',
    'del fdb 02:00:00:00:00:02 dev flannel.1 dst 192.0.2.3 self permanent',
  ]);
});

const EDGE: Array<[string, string, string | undefined]> = [
  ['route names without -N', '[ROUTE]unreachable 198.18.5.0/24 proto static', 'route unreachable 198.18.5.0/24 proto -1'],
  ['default route is not modelled', '[ROUTE]default via 192.0.2.1 dev eth0', undefined],
  ['route in main table by number', '[ROUTE]198.18.5.0/24 dev eth0 table 254 proto 244', 'route 198.18.5.0/24 dev eth0 proto 244'],
  ['link with a parent', '[LINK]7: eth0.5@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', 'link 7 eth0.5 up'],
  ['unlabelled line', '198.18.2.0/24 dev eth0', undefined],
  ['neigh without a device', '[NEIGH]miss 198.18.2.0', undefined],
  ['empty', '', undefined],
];
for (const [name, line, want] of EDGE) {
  test(`ip monitor: ${name}`, () => assert.equal(show(parseIpMonitorLine(line)), want));
}

const FDB_EDGE: Array<[string, string, string | undefined]> = [
  ['no destination (a bridge port)', '02:00:00:00:00:09 dev veth0 master br0 permanent', undefined],
  ['not permanent', '02:00:00:00:00:09 dev flannel.1 dst 192.0.2.9 self', 'fdb 02:00:00:00:00:09 dev flannel.1 dst 192.0.2.9 self'],
  ['IPv6 destination', 'Deleted 02:00:00:00:00:09 dev flannel-v6.1 dst 2001:db8::9 self permanent', 'del fdb 02:00:00:00:00:09 dev flannel-v6.1 dst 2001:db8::9 self permanent'],
];
for (const [name, line, want] of FDB_EDGE) {
  test(`bridge monitor fdb: ${name}`, () => assert.equal(show(parseBridgeFdbLine(line)), want));
}

test.run();
