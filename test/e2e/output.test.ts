// Machine-readable output: plan -o json (version 2), diff -o json with its
// exit codes, apply -o json on success and on a partial failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cluster } from '../lib/e2e.js';
import { defaultNodes, ipn, withTopology } from '../lib/netns.js';

const specs = defaultNodes(3); // node-a is real; node-b and node-c exist only in the file.

test('plan, diff and apply -o json', async () => {
  await withTopology(specs.slice(0, 1), async (t) => {
    const c = new Cluster(t);
    c.writeNodes(specs);
    const a = t.nodes[0];

    const p = await c.run('plan', a, ['-o', 'json']);
    assert.is(p.code, 0, p.stderr);
    const plan = JSON.parse(p.stdout);
    assert.is(plan.version, 2);
    assert.is(plan.backend, 'vxlan');
    assert.is(plan.device, 'flannel.1');
    assert.equal(plan.underlay, { dev: 'eth0', mtu: 1500, found: true });
    assert.equal({ ...plan.local, vtepMAC: undefined }, { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: undefined });
    assert.equal(plan.peers.map((x: any) => [x.name, x.subnet, x.publicIP, x.via]), [['node-b', '198.18.1.0/24', '192.0.2.11', 'vxlan'], ['node-c', '198.18.2.0/24', '192.0.2.12', 'vxlan']]);
    assert.equal(plan.entries.map((e: any) => e.kind), ['link', 'addr', 'sysctl', 'neigh', 'neigh', 'fdb', 'fdb', 'route', 'route', 'filter', 'filter', 'filter']);
    assert.equal(plan.entries.find((e: any) => e.key === 'route:198.18.1.0/24'),
      { key: 'route:198.18.1.0/24', kind: 'route', dst: '198.18.1.0/24', via: '198.18.1.0', dev: 'flannel.1', onlink: true, proto: 244 });
    assert.equal(plan.problems, []);

    const d = await c.run('diff', a, ['-o', 'json']);
    assert.is(d.code, 2);
    const drift = JSON.parse(d.stdout);
    assert.is(drift.version, 3);
    assert.is(drift.inSync, false);
    assert.equal(drift.summary, { add: 12, change: 0, delete: 0, conflicts: 0, unchanged: 0, adopted: 0 });
    assert.equal(drift.changes.map((x: any) => `${x.action} ${x.key}`).slice(0, 2), ['add link:flannel.1', 'add addr:flannel.1/198.18.0.0/32']);
    // Every change names its peer; the node's own device and address name none.
    for (const x of drift.changes) {
      if (['route', 'fdb', 'neigh'].includes(x.kind)) assert.ok(['node-b', 'node-c'].includes(x.peer), `${x.key}: ${x.peer}`);
      else assert.is(x.peer, null, x.key);
    }
    assert.is(drift.changes.filter((x: any) => x.peer === 'node-b').length, 3);

    // A foreign blackhole makes one route a conflict: apply -o json says so and exits 1.
    await ipn(a.ns, 'route', 'add', 'blackhole', '198.18.2.0/24');
    const r = await c.run('apply', a, ['-o', 'json']);
    assert.is(r.code, 1, r.stderr);
    const partial = JSON.parse(r.stdout);
    assert.is(partial.version, 3);
    assert.is(partial.ok, false);
    assert.equal(partial.summary, { add: 11, change: 0, delete: 0, failed: 0, remaining: 0 });
    assert.equal(partial.conflicts.map((x: any) => x.subject), ['route:198.18.2.0/24']);
    assert.is(r.stderr, '', 'with -o json, problems are in the JSON');

    await ipn(a.ns, 'route', 'del', 'blackhole', '198.18.2.0/24');
    const r2 = await c.run('apply', a, ['-o', 'json']);
    assert.is(r2.code, 0, r2.stderr);
    const done = JSON.parse(r2.stdout);
    assert.is(done.ok, true);
    assert.equal(done.summary, { add: 1, change: 0, delete: 0, failed: 0, remaining: 0 });
    assert.equal(done.applied.map((x: any) => [x.key, x.peer]), [['route:198.18.2.0/24', 'node-c']]);
    assert.type(done.durationMs, 'number');

    const clean = await c.run('diff', a, ['-o', 'json']);
    assert.is(clean.code, 0);
    const sync = JSON.parse(clean.stdout);
    assert.is(sync.inSync, true);
    assert.equal(sync.changes, []);
    assert.is(sync.summary.unchanged, 12);
  });
});

test.run();
