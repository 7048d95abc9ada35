// Property tests for issue 3 ("nothing hostile or broken from a cluster
// source ever reaches the kernel"): random and adversarial cluster states go
// through source parsing -> validateCluster -> plan -> diff -> toBatches, and
// every rendered batch line must match a strict grammar; every route must lie
// inside the pod network and never cover the local subnet.
//
// Seeded, so a failure is reproducible: OVLNET_FC_SEED=<n> overrides the seed
// and OVLNET_FC_RUNS=<n> the number of runs per property.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import YAML from 'yaml';
import { plan } from '../../../src/backends/index.js';
import { OvlnetError } from '../../../src/errors.js';
import { isIpBatchChange, toBatches, type Batch } from '../../../src/engine/batches.js';
import {
  isAligned, nonUnicastReason, parseIP, parsePrefix, prefixContains, prefixContainsIP, prefixesOverlap, type Prefix,
} from '../../../src/model/ip.js';
import { nonUnicastMACReason, parseMAC } from '../../../src/model/mac.js';
import type { ActualState, ClusterState, HostRoute, RawBackend, RawNode } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import { parseDocument } from '../../../src/sources/parse-limits.js';
import { validateCluster, type ValidatedCluster } from '../../../src/validate/index.js';
import { actualFrom, emptyActual, pfx, underlay } from '../support/build.js';

const SEED = Number(process.env.OVLNET_FC_SEED ?? 20240613);
const RUNS = Number(process.env.OVLNET_FC_RUNS ?? 300);

// ---- the grammar of every batch line ---------------------------------------------

const OCT = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = `${OCT}(?:\\.${OCT}){3}`;
const PFX = `${V4}/(?:3[0-2]|[12]?\\d)`;
const MAC = '[0-9a-f]{2}(?::[0-9a-f]{2}){5}';
const VXDEV = 'flannel\\.[1-9]\\d{0,6}';
const DEV = '[A-Za-z0-9][A-Za-z0-9_.-]{0,14}';
const NUM = '(?:0|[1-9]\\d{0,8})';
const re = (s: string) => new RegExp(`^${s}$`);

const IP_LINES: Record<string, RegExp> = {
  linkAdd: re(`link add (${VXDEV}) address (${MAC}) mtu (${NUM}) type vxlan id (${NUM}) local (${V4}) dev (${DEV}) dstport (${NUM}) nolearning`),
  linkUp: re(`link set (${VXDEV}) up`),
  // only the attributes that differ (setting the address flushes the device's neighbours), at least one
  linkSet: re(`link set (${VXDEV})(?= )(?: mtu (${NUM}))?(?: address (${MAC}))?(?: (?:up|down))?`),
  linkDel: re(`link del (${VXDEV})`),
  addrReplace: re(`addr replace (${V4})/32 dev (${VXDEV})`),
  addrDel: re(`addr del (${PFX}) dev (${VXDEV})`),
  neighReplace: re(`neigh replace (${V4}) lladdr (${MAC}) dev (${VXDEV}) nud permanent`),
  neighDel: re(`neigh del (${V4}) dev (${VXDEV})`),
  routeVxlan: re(`route (?:add|replace) (${PFX}) via (${V4}) dev (${VXDEV}) onlink proto 244`),
  routeDirect: re(`route (?:add|replace) (${PFX}) via (${V4}) dev (${DEV}) proto 244`),
  routeDel: re(`route del (${PFX})(?: via (${V4}))?(?: dev (${DEV}))? proto 244`),
};
const BRIDGE_LINES: Record<string, RegExp> = {
  fdbReplace: re(`fdb replace (${MAC}) dev (${VXDEV}) dst (${V4}) self permanent`),
  fdbDel: re(`fdb del (${MAC}) dev (${VXDEV}) dst (${V4}) self`),
};
const KEYWORDS = new Set(['dev', 'via', 'type', 'lladdr', 'dst', 'self', 'master', 'onlink', 'proto', 'default', 'all', 'any', 'up', 'down']);

interface Classified { kind: string; m: RegExpExecArray }

function classify(b: Batch, line: string): Classified {
  const table = b.tool === 'ip' ? IP_LINES : BRIDGE_LINES;
  for (const [kind, r] of Object.entries(table)) {
    const m = r.exec(line);
    if (m) return { kind, m };
  }
  throw new Error(`${b.tool} batch line outside the grammar: ${JSON.stringify(line)}`);
}

/** Grammar plus semantic checks of every line; returns the destination of every route written. */
function checkBatches(batches: Batch[], c: ValidatedCluster): Prefix[] {
  const net = c.config.network;
  const local = c.local.subnet;
  const routes: Prefix[] = [];
  for (const b of batches) {
    assert.ok(b.tool === 'ip' || b.tool === 'bridge');
    assert.ok(b.lines.length > 0, 'no empty batch');
    for (const { line } of b.lines) {
      assert.not.match(line, /[^\x21-\x7e ]/, `printable ASCII only: ${JSON.stringify(line)}`);
      const { kind, m } = classify(b, line);
      // Canonical values only: every address/prefix/MAC token re-parses to itself.
      for (const tok of line.split(' ')) {
        if (/^\d+\.\d+\.\d+\.\d+$/.test(tok)) assert.is(parseIP(tok)?.text, tok, `canonical IP ${tok}`);
        if (/\//.test(tok)) assert.is(parsePrefix(tok)?.text, tok, `canonical prefix ${tok}`);
      }
      switch (kind) {
        case 'linkAdd': {
          const [, , mac, mtu, id, localIP, underlayDev, port] = m;
          assert.is(nonUnicastMACReason(parseMAC(mac)!), undefined, `VTEP MAC unicast: ${line}`);
          assert.ok(Number(mtu) >= 68 && Number(mtu) <= 65535, line);
          assert.ok(Number(id) >= 1 && Number(id) <= 16777215, line);
          assert.ok(Number(port) >= 1 && Number(port) <= 65535, line);
          assert.is(localIP, c.local.publicIP.text, line);
          assert.not.ok(KEYWORDS.has(underlayDev), line);
          break;
        }
        case 'linkSet': {
          const [, , mtu, mac] = m;
          if (mtu !== undefined) assert.ok(Number(mtu) >= 68 && Number(mtu) <= 65535, line);
          if (mac !== undefined) assert.is(nonUnicastMACReason(parseMAC(mac)!), undefined, `VTEP MAC unicast: ${line}`);
          break;
        }
        case 'addrReplace':
          assert.is(`${m[1]}/32`, `${local.addr.text}/32`, `own subnet .0/32: ${line}`);
          break;
        case 'neighReplace': {
          assert.ok(prefixContainsIP(net, parseIP(m[1])!), `neighbor inside the network: ${line}`);
          assert.not.ok(prefixContainsIP(local, parseIP(m[1])!), `no neighbor in the local subnet: ${line}`);
          assert.is(nonUnicastMACReason(parseMAC(m[2])!), undefined, line);
          break;
        }
        case 'fdbReplace': {
          const dst = parseIP(m[3])!;
          assert.is(nonUnicastReason(dst), undefined, `fdb to a unicast address: ${line}`);
          assert.not.ok(prefixContainsIP(net, dst), `fdb dst outside the pod network: ${line}`);
          assert.is(nonUnicastMACReason(parseMAC(m[1])!), undefined, line);
          break;
        }
        case 'routeVxlan':
        case 'routeDirect': {
          const dst = parsePrefix(m[1])!;
          const via = parseIP(m[2])!;
          routes.push(dst);
          assert.ok(isAligned(dst), `aligned: ${line}`);
          assert.ok(prefixContains(net, dst) && dst.len > net.len, `route inside the network: ${line}`);
          assert.is.not(dst.text, local.text, `never a route for the local subnet: ${line}`);
          assert.not.ok(prefixesOverlap(dst, local), `no route over the local subnet: ${line}`);
          if (kind === 'routeVxlan') assert.is(via.text, dst.addr.text, `vxlan route via the peer's .0: ${line}`);
          else {
            assert.is(nonUnicastReason(via), undefined, `direct route via a unicast address: ${line}`);
            assert.not.ok(prefixContainsIP(net, via), `direct gateway outside the network: ${line}`);
            assert.not.ok(KEYWORDS.has(m[3]), line);
          }
          break;
        }
        default:
          break;
      }
    }
  }
  // Routes written in one cycle never overlap each other.
  const sorted = [...routes].sort((a, b) => (a.addr.value < b.addr.value ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) assert.not.ok(prefixesOverlap(sorted[i - 1], sorted[i]), `${sorted[i - 1].text} / ${sorted[i].text}`);
  return routes;
}

// ---- adversarial values -------------------------------------------------------------

const INJECT = [' dev eth0', ' dev eth0 via 10.0.0.1', '\nroute del default', '\nlink del eth0', ' onlink', ';reboot', '"', "'", ' ', '\t', '\r\n',
  '\u2028', '\u0085', '\u202e', '\u0000', '/', '/0', '/33', ' proto 3', ' self permanent', ' nud permanent', ' lladdr ff:ff:ff:ff:ff:ff'];
const WEIRD = ['', ' ', '\n', 'default', 'all', 'any', 'dev', 'via', '0', '-1', '1e3', '0x10', 'NaN', 'Infinity', 'null', 'true', '[]', '{}',
  'nöde', 'ノード', '🙂', 'a'.repeat(300), '9'.repeat(40), '%s%n', '$(reboot)', '`reboot`', '../../etc/passwd', '1.2.3.4.5', '::ffff:192.0.2.1',
  '0.0.0.0', '127.0.0.1', '224.0.0.1', '255.255.255.255', '169.254.1.1', '0.0.0.0/0', '198.18.0.0/16', '198.18.0.0/8'];

const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...WEIRD),
  fc.tuple(fc.constantFrom('192.0.2.11', '198.18.1.0/24', '0e:00:00:00:00:01', 'node-1', '8472', '1', 'vxlan'), fc.constantFrom(...INJECT), fc.boolean())
    .map(([v, inj, before]) => (before ? inj + v : v + inj)),
);
const hostileNumber = fc.oneof(
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e21, 1e308, -0, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, ['192.0.2.1'], { text: '192.0.2.1' }) },
);

const underlayIP = fc.oneof(
  fc.integer({ min: 2, max: 254 }).map((i) => `192.0.2.${i}`),
  fc.integer({ min: 1, max: 254 }).map((i) => `198.51.100.${i}`),
  fc.integer({ min: 1, max: 254 }).map((i) => `203.0.113.${i}`),
);
const anyIP = fc.oneof(underlayIP, fc.ipV4(), fc.ipV6(), fc.ipV4Extended());
const podSubnet = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 511 }).map((k) => `198.18.${k & 255}.0/24`) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0x1ffff }), fc.integer({ min: 15, max: 32 })).map(([v, len]) => {
    const n = (((198 << 24) | (18 << 16)) >>> 0) + (v << 8);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0/${len}`;
  }) },
  { weight: 1, arbitrary: fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([a, l]) => `${a}/${l}`) },
);
const macText = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));

/** A field: mostly plausible, sometimes hostile. */
function field<T>(good: fc.Arbitrary<T>, goodWeight = 5): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: goodWeight, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostileValue });
}

const rawNode = (i: number) => fc.record({
  name: field(fc.constantFrom(`n${i}`, `node-${i}`, `n${i}.example.org`, 'local', `n${i % 3}`), 8),
  publicIP: field(fc.oneof({ weight: 6, arbitrary: underlayIP }, { weight: 1, arbitrary: anyIP }), 4),
  subnet: field(podSubnet, 4),
  vtepMAC: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: macText.map((m) => ((parseInt(m.slice(0, 2), 16) & 0xfe) | 0x02).toString(16).padStart(2, '0') + m.slice(2)) },
    { weight: 1, arbitrary: macText },
    { weight: 1, arbitrary: hostileValue },
  ),
  backendType: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('vxlan', 'host-gw', 'udp') }, { weight: 1, arbitrary: hostileValue }),
}, { requiredKeys: ['name', 'publicIP', 'subnet'] }).chain((n) =>
  // now and then a required field is missing altogether
  fc.oneof({ weight: 12, arbitrary: fc.constant(n) }, { weight: 1, arbitrary: fc.constantFrom('name', 'publicIP', 'subnet').map((k) => { const c: Record<string, unknown> = { ...n }; delete c[k]; return c; }) }));

const rawBackendArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 30, arbitrary: fc.record({
    type: fc.constantFrom('vxlan', 'vxlan', 'host-gw'),
    vni: field(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(undefined, 1, 2, 4096, 9_999_999) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 25 }) }), 25),
    port: field(fc.constantFrom(undefined, 0, 4789, 8472, 65535), 25),
    mtu: field(fc.constantFrom(undefined, 0, 68, 1400, 9000), 25),
    directRouting: field(fc.boolean(), 25),
  }, { requiredKeys: ['type'] }) },
  { weight: 1, arbitrary: hostileValue },
  { weight: 1, arbitrary: fc.record({ type: hostileValue }) },
);

const clusterArb = fc.record({
  network: field(fc.constantFrom('198.18.0.0/16', '198.18.0.0/16', '198.18.0.0/15', '198.18.0.0/20', '198.18.128.0/17'), 30),
  subnetLen: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.integer({ min: 14, max: 32 }) }, { weight: 1, arbitrary: hostileValue }),
  backend: rawBackendArb,
  localSubnet: fc.oneof({ weight: 10, arbitrary: fc.constantFrom('198.18.0.0/24', '198.18.1.0/24', '198.18.128.0/24') }, { weight: 1, arbitrary: podSubnet }),
  nodes: fc.integer({ min: 0, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rawNode(i)))),
  programmed: fc.array(fc.nat(20), { maxLength: 6 }),
  encoding: fc.constantFrom('object', 'yaml', 'json'),
  underlayMTU: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(1500, 9000, 1280) }, { weight: 1, arbitrary: fc.constant(100) }),
  found: fc.boolean(),
});
type Gen = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

const HOST = { addrs: [pfx('192.0.2.1/24'), pfx('127.0.0.1/8')] };

function stripUndefined<T>(o: T): T {
  return JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
}

/** The generated state, as the file source would deliver it (through YAML or JSON text half the time). */
async function toState(g: Gen): Promise<ClusterState> {
  const doc = {
    network: g.network, subnetLen: g.subnetLen, backend: g.backend,
    nodes: [{ name: 'local', publicIP: '192.0.2.1', subnet: g.localSubnet }, ...(g.nodes as Array<Record<string, unknown>>)],
  };
  if (g.encoding === 'object') {
    // Straight into the validator, with the fields a file cannot carry (backendType).
    const nodes: RawNode[] = doc.nodes.map((n, i) => ({ origin: `nodes[${i}]`, ...n }));
    return { config: { origin: 'gen', network: doc.network, subnetLen: doc.subnetLen, backend: g.backend as RawBackend }, nodes, warnings: [], namedNodes: true };
  }
  const text = g.encoding === 'yaml' ? YAML.stringify(stripUndefined(doc)) : JSON.stringify(stripUndefined(doc));
  return parseClusterDocument(await parseDocument(text, 'gen', g.encoding), 'gen');
}

interface Stats { runs: number; rendered: number; refused: Record<string, number>; lines: number; peers: number }
const stats = (): Stats => ({ runs: 0, rendered: 0, refused: {}, lines: 0, peers: 0 });

/** A refusal must be one of ovlnet's typed errors, on one bounded line. */
function expectTypedRefusal(e: unknown, st: Stats): void {
  if (!(e instanceof OvlnetError)) throw e;
  assert.not.match(e.message, /[\n\r]/, `one line: ${JSON.stringify(e.message)}`);
  assert.ok(e.message.length <= 400, `bounded message (${e.message.length}): ${e.message.slice(0, 120)}`);
  st.refused[e.name] = (st.refused[e.name] ?? 0) + 1;
}

function validateAndPlan(state: ClusterState, g: Gen, routes?: HostRoute[]) {
  const names = new Set(g.programmed.map((i) => `n${i}`));
  const cluster = validateCluster(state, { name: 'local', host: HOST, isProgrammed: (n) => names.has(n.name) });
  for (const p of cluster.problems) assert.not.match(p.subject + p.message, /[\n\r]/, `problem on one line: ${JSON.stringify(p)}`);
  const desired = plan({
    cluster,
    underlay: underlay({ mtu: g.underlayMTU, found: g.found, connected: g.found ? [pfx('192.0.2.0/24')] : [] }),
    routes,
  });
  return { cluster, desired };
}

test('property: random and hostile cluster states render only grammatical lines; routes stay inside the network', async () => {
  const st = stats();
  await fc.assert(fc.asyncProperty(clusterArb, async (g) => {
    st.runs++;
    let state: ClusterState;
    try {
      state = await toState(g);
    } catch (e) {
      expectTypedRefusal(e, st);
      return;
    }
    let r;
    try {
      r = validateAndPlan(state, g);
    } catch (e) {
      expectTypedRefusal(e, st);
      return;
    }
    const { cluster, desired } = r;
    const changes = diff(desired, emptyActual(), ownershipFor(desired.device)).changes;
    assert.ok(changes.every((c) => c.action === 'add'), 'only additions on an empty host');
    const batches = toBatches(orderChanges(changes.filter(isIpBatchChange)));
    const routes = checkBatches(batches, cluster);
    // One route per planned peer, and the peers are exactly the kept nodes but the local one.
    assert.is(routes.length, desired.peers.length);
    assert.ok(desired.peers.every((p) => p.node !== cluster.local && cluster.nodes.includes(p.node)));
    st.rendered++;
    st.lines += batches.reduce((n, b) => n + b.lines.length, 0);
    st.peers += desired.peers.length;
  }), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  console.log(`  states: ${st.runs}, rendered: ${st.rendered} (${st.peers} peers, ${st.lines} lines), refused: ${JSON.stringify(st.refused)}`);
  // Not vacuous: a good share of the states reached the renderer, with peers.
  assert.ok(st.rendered >= st.runs * 0.3, `only ${st.rendered} of ${st.runs} states were rendered (${JSON.stringify(st.refused)})`);
  assert.ok(st.peers >= st.rendered, `peers planned: ${st.peers}`);
  assert.ok(Object.keys(st.refused).length >= 2, `refusals seen: ${JSON.stringify(st.refused)}`);
});

const foreignRoute: fc.Arbitrary<HostRoute> = fc.record({
  dst: fc.oneof(
    { weight: 3, arbitrary: podSubnet },
    // routes over peers' public IPs: what DirectRouting's on-link lookup decides on
    { weight: 1, arbitrary: fc.constantFrom('198.51.100.0/24', '203.0.113.0/24', '203.0.113.0/26', '192.0.2.128/25', '192.0.2.0/24', '198.51.100.4/32', '0.0.0.0/0') },
  ).map((s) => parsePrefix(s)).filter((p): p is Prefix => p !== undefined),
  via: fc.option(underlayIP.map((s) => parseIP(s)!), { nil: undefined }),
  dev: fc.option(fc.constantFrom('eth0', 'cni0', 'flannel.1', 'eth1'), { nil: undefined }),
  onlink: fc.boolean(),
  proto: fc.constantFrom(2, 3, 4, 16, 186, 243, 244, 245),
  // named as the parser names them; an unknown type stays a number
  type: fc.option(fc.constantFrom('blackhole', 'unreachable', 'prohibit', '12'), { nil: undefined }),
});

test('property: against a random host state, deletions and changes stay grammatical and never touch foreign routes', async () => {
  const st = stats();
  await fc.assert(fc.asyncProperty(clusterArb, clusterArb, fc.array(foreignRoute, { maxLength: 8 }), async (g, before, foreign) => {
    st.runs++;
    let now, old;
    // The host holds what an earlier (other) cluster state planned, plus foreign routes,
    // and its table is what DirectRouting looks peers up in, as in a real cycle.
    const hostTable: HostRoute[] = [
      { dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 },
      { dst: pfx('0.0.0.0/0'), via: parseIP('192.0.2.254'), dev: 'eth0', onlink: false, proto: 3 },
      ...foreign,
    ];
    try {
      old = validateAndPlan(await toState(before), before);
      const oldRoutes = actualFrom(old.desired.entries).routes;
      now = validateAndPlan(await toState(g), g, [...oldRoutes, ...hostTable]);
    } catch (e) {
      expectTypedRefusal(e, st);
      return;
    }
    const actual: ActualState = actualFrom(old.desired.entries, { routes: hostTable });
    const policy = ownershipFor(now.desired.device);
    const r = diff(now.desired, actual, policy);
    const batches = toBatches(orderChanges(r.changes.filter(isIpBatchChange)));
    checkBatches(batches, now.cluster);
    for (const c of r.changes) {
      // Only what ovlnet owns is ever changed or deleted.
      if (c.kind === 'route' && c.action !== 'add') assert.is((c.actual as { proto: number }).proto, 244, `${c.action} ${c.key}`);
      if (c.kind !== 'route' && c.kind !== 'link' && c.action === 'delete') assert.ok(policy.ownsDevice((c.actual as { dev: string }).dev), `${c.action} ${c.key}`);
    }
    for (const { line } of batches.flatMap((b) => b.lines)) {
      if (line.startsWith('route ')) assert.match(line, / proto 244$/, line);
    }
    st.rendered++;
    st.peers += now.desired.peers.filter((p) => p.via === 'direct').length;
  }), { seed: SEED + 1, numRuns: Math.ceil(RUNS / 2), endOnFailure: true });
  console.log(`  host states: ${st.runs}, diffed: ${st.rendered} (${st.peers} peers routed directly), refused: ${JSON.stringify(st.refused)}`);
  assert.ok(st.peers > 0, 'DirectRouting planned some peers as on-link from the random host tables');
  assert.ok(st.rendered >= st.runs * 0.1, `only ${st.rendered} of ${st.runs} host states were diffed (${JSON.stringify(st.refused)})`);
});

test('grammar self-check: the regexes accept what they should and refuse injections', () => {
  const ok: Array<['ip' | 'bridge', string]> = [
    ['ip', 'link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning'],
    ['ip', 'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244'],
    ['ip', 'route del 198.18.6.0/24 proto 244'],
    ['ip', 'link set flannel.1 mtu 1450'],
    ['ip', 'link set flannel.1 address 0e:00:00:00:00:00 up'],
    ['ip', 'link set flannel.1 mtu 1450 address 0e:00:00:00:00:00 down'],
    ['bridge', 'fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent'],
  ];
  for (const [tool, line] of ok) classify({ tool, lines: [] }, line);
  const bad: Array<['ip' | 'bridge', string]> = [
    ['ip', 'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244\nroute del default'],
    ['ip', 'route add 198.18.1.0/24 via 198.18.1.0 dev eth0 via 10.0.0.1 proto 244'],
    ['ip', 'route add 198.18.1.0/24 via 198.018.1.0 dev flannel.1 onlink proto 244'],
    ['ip', 'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 3'],
    ['ip', 'route flush table main'],
    ['ip', 'link set flannel.1'],
    ['ip', 'link set flannel.1 '],
    ['ip', 'link set flannel.1 address 0e:00:00:00:00:00 mtu 1450'],
    ['ip', 'link set flannel.1 mtu 1450 master br0'],
    ['ip', 'link set eth0 mtu 1450'],
    ['ip', 'neigh replace 198.18.1.0 lladdr FF:FF:FF:FF:FF:FF dev flannel.1 nud permanent'],
    ['ip', 'link add eth0 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning'],
    ['bridge', 'fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent master'],
    ['bridge', 'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244'],
  ];
  for (const [tool, line] of bad) assert.throws(() => classify({ tool, lines: [] }, line), /outside the grammar/, line);
});

test.run();
