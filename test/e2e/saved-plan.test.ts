// plan --out FILE / apply FILE in network namespaces: the saved changes are
// applied exactly when neither the source nor the kernel moved since, and
// refused (exit 3) naming which moved when one did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ipn, withTopology, type Topology } from '../lib/netns.js';

const specs = defaultNodes(3);

function setup(t: Topology) {
  const yaml = t.file('cluster.yaml', clusterYAML(specs));
  const a = t.nodes[0];
  const args = ['--source', `file:${yaml}`, '--node', a.name, '--netns', a.ns];
  return { yaml, a, args };
}

test('plan --out writes a 0600 plan; apply FILE applies exactly it and converges', async () => {
  await withTopology(specs, async (t) => {
    const { a, args } = setup(t);
    const file = t.file('my plan.json', '');
    const p = await ovlnet(['plan', '--out', file, ...args]);
    assert.is(p.code, 0, p.stdout + p.stderr);
    assert.match(p.stdout, /\+ route 198\.18\.1\.0\/24 .*# node-b/);
    assert.match(p.stdout, /Saved the plan to .*my plan\.json \(\d+ to add, 0 to change, 0 to destroy\)/);
    assert.match(p.stdout, /ovlnet apply '.*my plan\.json'/);
    assert.is(statSync(file).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { format: string; target: { node: string; netns: string }; changes: Array<{ peer: string | null }>; fingerprints: Record<string, string> };
    assert.is(doc.format, 'ovlnet-plan');
    assert.equal(doc.target.node, a.name);
    assert.equal(doc.target.netns, a.ns);
    assert.ok(doc.changes.some((c) => c.peer === 'node-c'));
    // The plan changed nothing.
    assert.not.match(await ipn(a.ns, 'route', 'show', '198.18.1.0/24'), /198\.18\.1\.0/);

    const r = await ovlnet(['apply', file, ...args]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Apply complete: ${doc.changes.length} added, 0 changed, 0 removed`));
    const d = await ovlnet(['diff', ...args]);
    assert.is(d.code, 0, d.stdout + d.stderr);
    // Applied once, the plan is stale: the host moved (by the plan itself).
    const again = await ovlnet(['apply', file, ...args]);
    assert.is(again.code, 3, again.stdout + again.stderr);
    assert.match(again.stderr, /saved plan is stale: the host state/);
  });
});

test('apply FILE refuses, with exit 3 and changing nothing, when the source or the kernel moved since the plan', async () => {
  await withTopology(specs, async (t) => {
    const { yaml, a, args } = setup(t);
    assert.is((await ovlnet(['apply', ...args])).code, 0);

    // The kernel moved: a route ovlnet manages was deleted after the plan.
    const hostPlan = t.file('host.plan', '');
    assert.is((await ovlnet(['plan', '--out', hostPlan, ...args])).code, 0);
    await ipn(a.ns, 'route', 'del', '198.18.2.0/24');
    const h = await ovlnet(['apply', hostPlan, ...args]);
    assert.is(h.code, 3, h.stdout + h.stderr);
    assert.match(h.stderr, /host\.plan: saved plan is stale: the host state \(ovlnet's devices, routes, neighbours, fdb or rules\) has changed since it was made .*; nothing was changed/);
    assert.match(h.stderr, /hint: run "ovlnet plan --out FILE" again/);
    assert.not.match(await ipn(a.ns, 'route', 'show', '198.18.2.0/24'), /198\.18\.2\.0/, 'nothing written');

    // The source moved: a peer renumbered after the plan.
    const srcPlan = t.file('source.plan', '');
    assert.is((await ovlnet(['plan', '--out', srcPlan, ...args])).code, 0);
    writeFileSync(yaml, clusterYAML([specs[0], specs[1], { ...specs[2], subnet: '198.18.9.0/24' }]));
    const s = await ovlnet(['apply', srcPlan, '-o', 'json', ...args]);
    assert.is(s.code, 3, s.stdout + s.stderr);
    // Only the nodes moved: the host is compared on the same ground (the pod network) and not blamed.
    assert.match(s.stderr, /source\.plan: saved plan is stale: the source state \(its config or nodes\) has changed since it was made/);
    assert.not.match(await ipn(a.ns, 'route', 'show', '198.18.2.0/24'), /198\.18\.2\.0/, 'nothing written');

    // diff --out saves a plan too; with the states unchanged it applies.
    const diffPlan = t.file('diff.plan', '');
    const d = await ovlnet(['diff', '--out', diffPlan, ...args]);
    assert.is(d.code, 2, d.stdout + d.stderr);
    const ok = await ovlnet(['apply', diffPlan, '-o', 'json', ...args]);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    const j = JSON.parse(ok.stdout) as { ok: boolean; planFile: string; applied: Array<{ peer: string | null }> };
    assert.ok(j.ok);
    assert.is(j.planFile, diffPlan);
    assert.ok(j.applied.some((c) => c.peer === 'node-c'));
  });
});

test('a modified, corrupt or foreign plan file is refused with a clear error (exit 1)', async () => {
  await withTopology(specs, async (t) => {
    const { a, args } = setup(t);
    const file = t.file('p.plan', '');
    assert.is((await ovlnet(['plan', '--out', file, ...args])).code, 0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { changes: Array<{ key: string }> };
    const tampered = t.file('tampered.plan', JSON.stringify({ ...doc, changes: doc.changes.slice(1) }));
    const corrupt = t.file('corrupt.plan', readFileSync(file, 'utf8').slice(0, 200));
    const b = t.nodes[1];
    const rows: Array<[string[], RegExp]> = [
      [['apply', tampered, ...args], /tampered\.plan: the plan file was modified after "ovlnet plan --out" wrote it/],
      [['apply', corrupt, ...args], /corrupt\.plan: not a plan file \(invalid JSON/],
      [['apply', t.file('none', '') + '.missing', ...args], /no such plan file/],
      [['apply', file, '--source', args[1], '--node', b.name, '--netns', b.ns], new RegExp(`made for namespace ${a.ns}, not namespace ${b.ns}`)],
      [['apply', file, ...args, '--ip-masq'], /planned with other settings \(ipMasq: false in the plan, true now\)/],
      [['plan', '--out', file, '-o', 'commands', ...args], /--out with -o commands/],
    ];
    for (const [argv, re] of rows) {
      const r = await ovlnet(argv);
      assert.is(r.code, 1, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /hint: /);
    }
    assert.not.match(await ipn(a.ns, 'route', 'show', '198.18.1.0/24'), /198\.18\.1\.0/, 'nothing written');
  });
});

test.run();
