// The Kubernetes source's per-node deltas (src/sources/kube-delta.ts over the
// reflector's watch, kube-reflector.ts): watch events of whole Node objects
// (as the API server sends them: managedFields, images, conditions) go
// through the reflector; after each burst, the delta of the touched Nodes,
// applied to the nodes of the last state given out, must give exactly the
// nodes a whole mapping of the watch cache gives (and, when a delta is
// given, the same warnings). Table rows for the shapes of events, then
// random sequences (seeded: OVLNET_FC_SEED, OVLNET_FC_RUNS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { SourceError } from '../../../src/errors.js';
import type { RawNode } from '../../../src/model/types.js';
import { baselineOf, configKey, kubeDelta, type KubeBaseline } from '../../../src/sources/kube-delta.js';
import { annotationKeys, nodesToRaw, type KubeNode } from '../../../src/sources/kube-map.js';
import { NodeReflector, type WatchOpener } from '../../../src/sources/kube-reflector.js';
import { leanNode } from '../../../src/sources/kube-wire.js';

const SEED = Number(process.env.OVLNET_FC_SEED ?? 20261203);
const RUNS = Number(process.env.OVLNET_FC_RUNS ?? 100);
const KEYS = annotationKeys();
const P = 'flannel.alpha.coreos.com';
const CONFIG_KEY = configKey({ network: '198.18.0.0/16' }, [], undefined);

interface Shape {
  cidr?: string;
  mac?: string;
  published?: boolean;
  overwrite?: string;
  beat?: number;
}

/** A Node as the API server sends it in a watch event: what ovlnet reads, and the rest it must ignore. */
function nodeObject(name: string, s: Shape, rv: number): Record<string, unknown> {
  const ann: Record<string, string> = {
    'node.alpha.kubernetes.io/ttl': '0',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  };
  if (s.published !== false) {
    ann[`${P}/kube-subnet-manager`] = 'true';
    ann[`${P}/backend-type`] = 'vxlan';
    ann[`${P}/public-ip`] = `192.0.2.${10 + Number(name.split('-')[1])}`;
    if (s.mac) ann[`${P}/backend-data`] = JSON.stringify({ VNI: 1, VtepMAC: s.mac });
    if (s.overwrite) ann[`${P}/public-ip-overwrite`] = s.overwrite;
  }
  const beat = `2026-12-03T14:${String(s.beat ?? 0).padStart(2, '0')}:00Z`;
  return {
    kind: 'Node', apiVersion: 'v1',
    metadata: {
      name, uid: `uid-${name}`, resourceVersion: String(rv), labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' }, annotations: ann,
      managedFields: [{ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: beat, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {} } } }],
    },
    spec: s.cidr ? { podCIDR: s.cidr, podCIDRs: [s.cidr] } : {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: beat, lastTransitionTime: '2026-12-03T10:00:00Z', reason: 'KubeletReady' }],
      addresses: [{ type: 'InternalIP', address: `192.0.2.${10 + Number(name.split('-')[1])}` }, { type: 'Hostname', address: name }],
      images: [{ names: ['registry.example/pause:3.9'], sizeBytes: 321520 }],
      nodeInfo: { kubeletVersion: 'v1.29.0', containerRuntimeVersion: 'containerd://1.7.0' },
    },
  };
}

const macOf = (i: number) => `0e:00:00:00:00:0${i}`;
const plain = (i: number): Shape => ({ cidr: `198.18.${i}.0/24`, mac: macOf(i) });

/** A reflector fed by hand: list, then events as the watch stream would deliver them. */
class Harness {
  private onEvent?: (type: string, obj: unknown) => void;
  private done?: (err: unknown) => void;
  readonly reflector: NodeReflector;
  private rv = 100;
  list: KubeNode[];
  changes = 0;
  /** The nodes and warnings of the last state given out, and what deltas are relative to. */
  given = new Map<string, string>();
  givenWarnings: string[] = [];
  base!: KubeBaseline;

  constructor(initial: Array<[string, Shape]>) {
    this.list = initial.map(([n, s]) => leanNode(nodeObject(n, s, 1), KEYS)!);
    const watcher: WatchOpener = {
      watch: async (_path, _query, onEvent, done) => {
        this.onEvent = onEvent;
        this.done = done;
        return new AbortController();
      },
    };
    this.reflector = new NodeReflector({
      listNodes: async () => ({ items: this.list, resourceVersion: String(this.rv) }),
      toSourceError: (e) => new SourceError(String(e)),
    }, watcher, KEYS, { onChange: () => { this.changes++; }, onError: (e) => { throw e; } });
  }

  async start(): Promise<void> {
    this.reflector.start();
    for (let i = 0; !this.onEvent; i++) {
      if (i > 200) throw new Error('the reflector did not open its watch');
      await new Promise((r) => setTimeout(r, 5));
    }
    this.whole();
  }

  event(type: string, name: string, s: Shape = {}): void {
    if (type !== 'ERROR') {
      this.onEvent!(type, nodeObject(name, s, ++this.rv));
      return;
    }
    // 410 Gone, then the stream ends: the reflector lists again.
    this.onEvent!(type, { kind: 'Status', code: 410 });
    this.done!(null);
  }

  /** A whole state given out (load()): the baseline. */
  whole(): void {
    this.reflector.drain();
    const m = nodesToRaw(this.reflector.items(), KEYS);
    this.base = baselineOf(m, CONFIG_KEY);
    this.given = new Map(m.nodes.map((n) => [n.name as string, JSON.stringify(n)]));
    this.givenWarnings = m.warnings;
  }

  /** What update() does: the delta, or the whole state; returns which. */
  update(): { upserts: string[]; deletes: string[] } | 'whole' {
    const touched = this.reflector.drain();
    const d = touched && kubeDelta(touched, (n) => this.reflector.node(n), this.base, CONFIG_KEY, KEYS);
    if (!d || 'whole' in d) {
      this.whole();
      return 'whole';
    }
    for (const u of d.upserts) this.given.set(u.name as string, JSON.stringify(u));
    for (const name of d.deletes) this.given.delete(name);
    return { upserts: d.upserts.map((u: RawNode) => `${u.name} ${u.vtepMAC ?? ''}`), deletes: d.deletes };
  }

  /** The nodes a whole mapping of the cache gives now. */
  truth(): { nodes: Map<string, string>; warnings: string[] } {
    const m = nodesToRaw(this.reflector.items(), KEYS);
    return { nodes: new Map(m.nodes.map((n) => [n.name as string, JSON.stringify(n)])), warnings: m.warnings };
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }
}

const sortedMap = (m: Map<string, string>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));

type Step = [type: string, name: string, shape?: Shape];
const ROWS: Array<{ name: string; steps: Step[]; want: ReturnType<Harness['update']>; changes: number }> = [
  { name: 'a heartbeat (conditions, managedFields) alone: nothing touched, no change reported', steps: [['MODIFIED', 'node-2', { ...plain(2), beat: 7 }]], want: { upserts: [], deletes: [] }, changes: 0 },
  { name: 'a new VTEP MAC: that node alone', steps: [['MODIFIED', 'node-2', { ...plain(2), mac: '0e:00:00:00:00:09' }]], want: { upserts: ['node-2 0e:00:00:00:00:09'], deletes: [] }, changes: 1 },
  { name: 'a Node added, another deleted', steps: [['ADDED', 'node-4', plain(4)], ['DELETED', 'node-1', plain(1)]], want: { upserts: ['node-4 0e:00:00:00:00:04'], deletes: ['node-1'] }, changes: 2 },
  { name: 'the same Node changed twice in a burst: its last state, once', steps: [['MODIFIED', 'node-3', { ...plain(3), mac: '0e:00:00:00:00:08' }], ['MODIFIED', 'node-3', { ...plain(3), mac: '0e:00:00:00:00:07' }]], want: { upserts: ['node-3 0e:00:00:00:00:07'], deletes: [] }, changes: 2 },
  { name: 'a Node unpublished (left out with a warning): the whole state', steps: [['MODIFIED', 'node-2', { ...plain(2), published: false }]], want: 'whole', changes: 1 },
  { name: 'a Node given a public-ip-overwrite: the whole state', steps: [['MODIFIED', 'node-2', { ...plain(2), overwrite: '203.0.113.2' }]], want: 'whole', changes: 1 },
  { name: 'a change to a Node that was left out: the whole state', steps: [['MODIFIED', 'node-5', { cidr: '198.18.5.0/24', published: false, beat: 1 }], ['MODIFIED', 'node-5', plain(5)]], want: 'whole', changes: 1 },
  { name: 'a 410 Gone (relist): the whole state', steps: [['MODIFIED', 'node-2', { ...plain(2), mac: '0e:00:00:00:00:09' }], ['ERROR', '']], want: 'whole', changes: 2 },
];

for (const row of ROWS) {
  test(`kube delta: ${row.name}`, async () => {
    const h = new Harness([['node-1', plain(1)], ['node-2', plain(2)], ['node-3', plain(3)], ['node-5', { cidr: '198.18.5.0/24', published: false }]]);
    try {
      await h.start();
      const was = h.changes;
      for (const [type, name, s] of row.steps) h.event(type, name, s);
      // A relist happens on the reflector's loop: let it run.
      if (row.steps.some(([t]) => t === 'ERROR')) await new Promise((r) => setTimeout(r, 50));
      assert.is(h.changes - was, row.changes, 'changes reported');
      assert.equal(h.update(), row.want);
      const t = h.truth();
      assert.equal(sortedMap(h.given), sortedMap(t.nodes), 'the last state plus the delta is the whole mapping');
      assert.equal(h.givenWarnings, t.warnings);
    } finally {
      await h.stop();
    }
  });
}

const NAMES = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
const shape: fc.Arbitrary<Shape> = fc.record({
  cidr: fc.constantFrom('198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24', undefined),
  mac: fc.constantFrom(macOf(1), macOf(2), macOf(3), undefined),
  published: fc.constantFrom(true, true, true, false),
  overwrite: fc.constantFrom(undefined, undefined, undefined, '203.0.113.9'),
  beat: fc.integer({ min: 0, max: 59 }),
}, { requiredKeys: ['beat'] });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('ADDED', 'MODIFIED'), fc.constantFrom(...NAMES), shape) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('DELETED'), fc.constantFrom(...NAMES), fc.constant({})) },
);

test('kube delta: on random watch events, the last state plus each delta is the whole mapping of the cache', async () => {
  let deltas = 0;
  await fc.assert(fc.asyncProperty(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 15 }), async (bursts) => {
    const h = new Harness([['node-1', plain(1)], ['node-2', plain(2)]]);
    try {
      await h.start();
      for (const burst of bursts) {
        for (const [type, name, s] of burst) h.event(type, name, s);
        const u = h.update();
        if (u !== 'whole') deltas++;
        const t = h.truth();
        assert.equal(sortedMap(h.given), sortedMap(t.nodes));
        assert.equal(h.givenWarnings, t.warnings);
      }
    } finally {
      await h.stop();
    }
  }), { seed: SEED, numRuns: RUNS });
  // The property must exercise deltas, not only whole states.
  assert.ok(deltas > RUNS, `${deltas} deltas over ${RUNS} runs`);
});

test.run();
