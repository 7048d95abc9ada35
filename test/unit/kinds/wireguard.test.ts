// The WireGuard kinds (wg-device, wg-peer): diff against what `wg show dump`
// reads, the write phases (devices before the ip batches, one syncconf per
// device after them) and the `-o commands` lines; no output carries a key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planWireguard } from '../../../src/backends/wireguard/plan.js';
import { generatePrivateKey, publicKeyOf, Secret } from '../../../src/backends/wireguard/keys.js';
import { writePhasesFor } from '../../../src/engine/phases.js';
import { deleteOf } from '../../../src/kinds/index.js';
import type { WgSyncPayload } from '../../../src/backends/wireguard/driver.js';
import type { ActualState, DesiredState, Node, WgPeerEntry, WireguardConfig } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { diffJSON, diffText } from '../../../src/render/views/diff.js';
import { planCommands, planJSON, planTable } from '../../../src/render/views/plan.js';
import { actualFrom, node, pfx, underlay } from '../support/build.js';

const KEYS = [0, 1, 2, 3].map(() => publicKeyOf(generatePrivateKey()));
const PSK = generatePrivateKey();
const OTHER_PSK = generatePrivateKey();
const WG: WireguardConfig = { type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 25, mode: 'separate' };
const nodes: Node[] = [0, 1, 2].map((i) => node(i, { backendData: { PublicKey: KEYS[i], Port: 51820 } }));

function planned(backend: WireguardConfig = WG): DesiredState {
  return planWireguard({ cluster: { config: { network: pfx('198.18.0.0/16'), subnetLen: 24, backend }, nodes, problems: [], local: nodes[0] }, underlay: underlay() });
}

const POLICY = ownershipFor(['flannel-wg']);
const peerOf = (a: ActualState, key: string) => a.wireguard!.get('flannel-wg')!.peers.find((p) => p.publicKey === key)!;
const chalk = new Proxy({}, { get: () => (s: string) => s }) as never;

test('wg-peer diff: a hand-made change of each field shows, named; allowed-ips compare as a set; keys never shown', () => {
  const rows: Array<[string, (a: ActualState) => void, string[], WireguardConfig?]> = [
    ['in sync', () => {}, []],
    ['peer removed by hand', (a) => { a.wireguard!.get('flannel-wg')!.peers.splice(0, 1); }, [`add wg-peer:flannel-wg/${KEYS[1]}`]],
    ['endpoint changed', (a) => { peerOf(a, KEYS[1]).endpoint = '192.0.2.99:4444'; }, [`change wg-peer:flannel-wg/${KEYS[1]} endpoint 192.0.2.99:4444 -> 192.0.2.11:51820`]],
    ['endpoint unknown', (a) => { delete peerOf(a, KEYS[1]).endpoint; }, [`change wg-peer:flannel-wg/${KEYS[1]} endpoint (none) -> 192.0.2.11:51820`]],
    ['allowed-ips widened', (a) => { peerOf(a, KEYS[2]).allowedIPs.push(pfx('198.18.9.0/24')); }, [`change wg-peer:flannel-wg/${KEYS[2]} allowed-ips 198.18.2.0/24,198.18.9.0/24 -> 198.18.2.0/24`]],
    ['allowed-ips emptied', (a) => { peerOf(a, KEYS[2]).allowedIPs = []; }, [`change wg-peer:flannel-wg/${KEYS[2]} allowed-ips (none) -> 198.18.2.0/24`]],
    ['keepalive off', (a) => { peerOf(a, KEYS[1]).keepalive = 0; }, [`change wg-peer:flannel-wg/${KEYS[1]} persistent-keepalive off -> 25`]],
    ['PSK added by hand', (a) => { peerOf(a, KEYS[1]).psk = PSK; }, [`change wg-peer:flannel-wg/${KEYS[1]} preshared-key removed`]],
    ['PSK configured, none on the host', () => {}, [1, 2].map((i) => `change wg-peer:flannel-wg/${KEYS[i]} preshared-key added`), { ...WG, psk: PSK }],
    ['PSK of another value', (a) => { peerOf(a, KEYS[1]).psk = OTHER_PSK; peerOf(a, KEYS[2]).psk = PSK; }, [`change wg-peer:flannel-wg/${KEYS[1]} preshared-key differs from Backend.PSK`], { ...WG, psk: PSK }],
    ['stranger peer', (a) => { a.wireguard!.get('flannel-wg')!.peers.push({ kind: 'wg-peer', dev: 'flannel-wg', publicKey: KEYS[3], endpoint: '192.0.2.13:51820', allowedIPs: [pfx('198.18.3.0/24')], keepalive: 0 }); },
      [`delete wg-peer:flannel-wg/${KEYS[3]}`]],
    ['listen port changed', (a) => { a.wireguard!.get('flannel-wg')!.listenPort = 40000; }, ['change link:flannel-wg listen-port 40000 -> 51820']],
    ['device holds another key', (a) => { a.wireguard!.get('flannel-wg')!.publicKey = KEYS[3]; }, [`change link:flannel-wg private key of public key ${KEYS[3]} -> of public key ${KEYS[0]}`]],
    ['device without a key', (a) => { delete a.wireguard!.get('flannel-wg')!.publicKey; }, [`change link:flannel-wg private key (none) -> of public key ${KEYS[0]}`]],
    ['MTU and state', (a) => { const l = a.links.get('flannel-wg')!; l.mtu = 1420; l.up = false; }, ['change link:flannel-wg mtu 1420 -> 1440, down -> up']],
  ];
  for (const [what, mutate, want, backend] of rows) {
    const d = planned(backend);
    const a = actualFrom(planned().entries);
    mutate(a);
    const r = diff(d, a, POLICY);
    const got = r.changes.map((c) => `${c.action} ${c.key}${c.detail ? ` ${c.detail}` : ''}`);
    assert.equal(got, want, what);
    const text = diffText(r, chalk) + JSON.stringify(diffJSON(r, [], d));
    for (const secret of [PSK, OTHER_PSK]) assert.not.ok(text.includes(secret.reveal()), `${what}: a key in the output`);
  }
});

test('wg-device diff: missing, a plain TUN wg can not talk to, another kind of link; recreation writes its peers again', () => {
  const d = planned();
  const rows: Array<[string, (a: ActualState) => void, string]> = [
    ['missing', (a) => { a.links.delete('flannel-wg'); a.wireguard!.delete('flannel-wg'); }, 'add link:flannel-wg'],
    ['kernel device wg can not configure', (a) => { a.wireguard!.delete('flannel-wg'); }, 'replace link:flannel-wg wireguard device that wg can not configure'],
    ['a vxlan device', (a) => { a.links.get('flannel-wg')!.kind = 'vxlan'; }, 'replace link:flannel-wg not a WireGuard device (vxlan)'],
  ];
  for (const [what, mutate, want] of rows) {
    const a = actualFrom(d.entries);
    mutate(a);
    const r = diff(d, a, POLICY);
    assert.is(`${r.changes[0].action} ${r.changes[0].key}${r.changes[0].detail ? ` ${r.changes[0].detail}` : ''}`, want, what);
    // Everything on a fresh device is written again: its address, peers and route.
    assert.equal(r.changes.map((c) => c.kind).sort(), ['addr', 'route', 'wg-device', 'wg-peer', 'wg-peer'], what);
  }
  // A userspace device (a TUN that wg answers for) is as good as the kernel's.
  const a = actualFrom(d.entries);
  a.links.get('flannel-wg')!.kind = 'tun';
  assert.equal(diff(d, a, POLICY).changes, []);
  // A TUN wg can not reach (its wireguard-go serves it from another mount namespace): never deleted, a conflict; its peers not judged.
  a.wireguard!.delete('flannel-wg');
  const r = diff(d, a, POLICY);
  assert.equal(r.changes, []);
  assert.equal(r.conflicts.map((c) => c.subject), ['link flannel-wg']);
  assert.match(r.conflicts[0].message, /another mount namespace/);
  // Peers not read at all (diff without root): neither added nor deleted, the device judged by its link alone.
  const unread = actualFrom(d.entries);
  unread.wireguard = undefined;
  unread.links.get('flannel-wg')!.mtu = 1400;
  assert.equal(diff(d, unread, POLICY).changes.map((c) => `${c.action} ${c.key} ${c.detail}`), ['change link:flannel-wg mtu 1400 -> 1440']);
});

test('write phases: the device before the ip batches, then one syncconf per device with every desired peer, deletions last; no line holds a key', () => {
  const d = planned({ ...WG, psk: PSK });
  const empty = actualFrom([]);
  const r = diff(d, empty, POLICY);
  const phases = writePhasesFor(orderChanges(r.changes), d.entries, empty);
  // The address phase, then the routes' phase (engine/batches.ts toPhases), then the peers.
  assert.equal(phases.map((p) => p.map((b) => b.tool)), [['wireguard:link'], ['ip'], ['ip'], ['wireguard:sync']]);
  assert.equal(phases[0][0].lines.map((l) => l.line), ['add flannel-wg mtu 1440 up']);
  const sync = phases[3][0];
  assert.equal((sync.payload as WgSyncPayload).peers.map((p) => p.publicKey), [KEYS[1], KEYS[2]]);
  assert.is(sync.lines.length, 3, 'one line per change (device and two peers), for failures');
  // One changed peer: still the whole device in one process.
  const a = actualFrom(planned({ ...WG, psk: PSK }).entries);
  peerOf(a, KEYS[2]).endpoint = '192.0.2.99:1';
  const one = writePhasesFor(orderChanges(diff(d, a, POLICY).changes), d.entries, a);
  assert.equal(one.map((p) => p.map((b) => b.tool)), [['wireguard:sync']]);
  assert.is((one[0][0].payload as WgSyncPayload).peers.length, 2);
  // Device deleted (as cleanup deletes it): after the route through it, by `ip link del`.
  const gone = [deleteOf(d.entries[0]), deleteOf(d.entries.find((e) => e.kind === 'route')!)];
  const del = writePhasesFor(orderChanges(gone), [], actualFrom(d.entries));
  assert.equal(del.map((p) => p.map((b) => b.tool)), [['ip'], ['wireguard:link']]);
  assert.equal(del.at(-1)!.map((b) => [b.tool, b.lines.map((l) => l.line)]), [['wireguard:link', ['del flannel-wg']]]);
  // Lines and payload (bigints of addresses as text): what a log or a failure could show.
  const all = JSON.stringify(phases.map((p) => p.map((b) => ({ ...b, lines: b.lines.map((l) => l.line) }))), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  assert.match(all, /\(redacted\)/);
  assert.not.ok(all.includes(PSK.reveal()));
});

test('plan outputs: -o commands runs the kernel way with file references; table, JSON and commands never carry the PSK', () => {
  const d = planned({ ...WG, psk: PSK });
  const lines = planCommands(d);
  assert.equal(lines.slice(0, 4), [
    'ip link add flannel-wg type wireguard',
    'ip link set flannel-wg mtu 1440 up',
    'ip addr replace 198.18.0.0/32 dev flannel-wg',
    'ip route add 198.18.0.0/16 dev flannel-wg proto 244',
  ]);
  assert.is(lines[4], `wg set flannel-wg private-key /run/flannel/wgkey listen-port 51820 peer ${KEYS[1]} endpoint 192.0.2.11:51820 allowed-ips 198.18.1.0/24 persistent-keepalive 25 preshared-key "$WG_PSK_FILE" peer ${KEYS[2]} endpoint 192.0.2.12:51820 allowed-ips 198.18.2.0/24 persistent-keepalive 25 preshared-key "$WG_PSK_FILE"`);
  const json = JSON.stringify(planJSON(d, []));
  assert.match(json, /"psk":"\(redacted\)"/);
  for (const out of [lines.join('\n'), json, planTable(d, chalk)]) assert.not.ok(out.includes(PSK.reveal()));
  assert.match(planTable(d, chalk), /device flannel-wg \(port 51820, MTU 1440\)[\s\S]*2 peers: 1 device, 1 address, 0 neighbors, 0 fdb entries, 1 route, 2 WireGuard peers\./);
});

test('wg-peer entries keep the Secret type: String and JSON of a peer are redacted', () => {
  const p: WgPeerEntry = { kind: 'wg-peer', dev: 'flannel-wg', publicKey: KEYS[1], allowedIPs: [], keepalive: 0, psk: Secret.parse(PSK.reveal())! };
  assert.not.ok(JSON.stringify(p).includes(PSK.reveal()));
  assert.not.ok(`${p.psk}`.includes(PSK.reveal()));
});

test.run();
