// The write phases of a plan's changes: the devices first, then the peers'
// neighbours, fdb entries and routes (one ip, one bridge at once), then the
// drivers. A driver that needs only the devices (the sysctl kind, besidePeers)
// runs beside the peers' phase when there is one, after the devices otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { writePhasesFor } from '../../../src/engine/phases.js';
import type { Change, Entry, EntryKind } from '../../../src/model/types.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { actualFrom, addChange, cluster, node, underlay } from '../support/build.js';

const N = [0, 1, 2].map((i) => node(i));
// With the tx checksum pinned off: an offload entry (ethtool), a driver that stays after the batches.
const VX = plan({ cluster: cluster(N, N[0]), underlay: underlay(), host: { disableTxOffload: true, ipMasq: false, masqRandomFully: true, forwardRules: false } });

const adds = (kinds: EntryKind[]): Change[] => orderChanges(VX.entries.filter((e: Entry) => kinds.includes(e.kind)).map(addChange));
/** Each phase as its processes: tool and the kinds of its lines. */
const shape = (changes: Change[]) => writePhasesFor(changes, VX.entries, actualFrom([])).map((p) => p.map((b) => `${b.tool}:${[...new Set(b.lines.map((l) => l.change.kind))].join('+')}`));

const ROWS: Array<[string, EntryKind[], string[][]]> = [
  ['cold: device, peers and the setting beside the peers; the offload after', ['link', 'addr', 'neigh', 'fdb', 'route', 'sysctl', 'offload'],
    [['ip:link+addr'], ['ip:neigh+route', 'bridge:fdb', 'sysctl:sysctl'], ['ethtool:offload']]],
  ['device and setting only: the setting after the device, as its own phase', ['link', 'sysctl'], [['ip:link'], ['sysctl:sysctl']]],
  ['the setting alone (drift)', ['sysctl'], [['sysctl:sysctl']]],
  ['peers and the setting, the device in place', ['neigh', 'fdb', 'route', 'sysctl'], [['ip:neigh+route', 'bridge:fdb', 'sysctl:sysctl']]],
  ['peers and the offload: the offload after them', ['neigh', 'route', 'offload'], [['ip:neigh+route'], ['ethtool:offload']]],
  ['peers only', ['fdb'], [['bridge:fdb']]],
];

for (const [name, kinds, want] of ROWS) {
  test(`writePhasesFor: ${name}`, () => {
    assert.equal(shape(adds(kinds)), want);
  });
}

test('writePhasesFor: failures keep their order, the setting after the peers in the shared phase', () => {
  const phases = writePhasesFor(adds(['link', 'neigh', 'route', 'sysctl']), VX.entries, actualFrom([]));
  const last = phases[phases.length - 1];
  assert.equal(last.map((b) => b.tool), ['ip', 'sysctl']);
  assert.equal(last[1].lines.map((l) => l.line), ['net/ipv6/conf/flannel.1/accept_ra=0']);
});

test.run();
