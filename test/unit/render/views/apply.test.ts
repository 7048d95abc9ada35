import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import { plan } from '../../../../src/backends/index.js';
import type { Change, DesiredState, Entry, Problem } from '../../../../src/model/types.js';
import { applyJSON, applyOk, applyText, type ApplyView } from '../../../../src/render/views/apply.js';
import { cluster, node, underlay } from '../../support/build.js';

const plain = new Chalk({ level: 0 });
const me = node(0);
const D: DesiredState = plan({ cluster: cluster([me, node(1), node(2)], me), underlay: underlay() });
const entry = (kind: Entry['kind'], dst?: string): Entry => D.entries.find((e) => e.kind === kind && (dst === undefined || (e.kind === 'route' && e.dst.text === dst)))!;
const add = (e: Entry): Change => ({ action: 'add', kind: e.kind, key: `k:${e.kind}:${e.kind === "route" ? e.dst.text : ""}`, desired: e } as Change);
const ROUTE1 = add(entry('route', '198.18.1.0/24'));
const LINK = add(entry('link'));
const CONFLICT: Problem = { subject: 'route:198.18.2.0/24', message: 'a route not owned by ovlnet holds it; left as is', code: 'foreign-route', value: '198.18.2.0/24' };

function view(over: Partial<ApplyView['result']> = {}, conflicts: Problem[] = []): ApplyView {
  return { result: { applied: [], failures: [], remaining: [], ...over }, conflicts, problems: conflicts, desired: D, durationMs: 7 };
}

test('applyText and applyJSON: one row per outcome', () => {
  const rows: Array<{ name: string; v: ApplyView; ok: boolean; out: string[]; err: RegExp[]; summary: object }> = [
    { name: 'nothing to do', v: view(), ok: true, out: ['Apply complete: 0 added, 0 changed, 0 removed (7 ms).'], err: [], summary: { add: 0, change: 0, delete: 0, failed: 0, remaining: 0 } },
    { name: 'written, each line names its peer', v: view({ applied: [LINK, ROUTE1] }), ok: true,
      out: [`  + ${'link flannel.1'}`, '  + route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink  # node-1', '', 'Apply complete: 2 added, 0 changed, 0 removed (7 ms).'], err: [],
      summary: { add: 2, change: 0, delete: 0, failed: 0, remaining: 0 } },
    { name: 'a failure', v: view({ applied: [LINK], failures: [{ change: ROUTE1, line: 'route add …', message: 'RTNETLINK answers: File exists' }], remaining: [ROUTE1] }), ok: false,
      out: ['  + link flannel.1', '', 'Apply incomplete: 1 added, 0 changed, 0 removed, 1 failed (7 ms).'], err: [/^failed: route 198\.18\.1\.0\/24 .*: RTNETLINK answers: File exists$/, /^hint: fix the cause above/],
      summary: { add: 1, change: 0, delete: 0, failed: 1, remaining: 1 } },
    { name: 'not converged', v: view({ remaining: [ROUTE1] }), ok: false, out: ['Apply incomplete: 0 added, 0 changed, 0 removed (7 ms).'], err: [/^not converged: route 198\.18\.1\.0\/24/],
      summary: { add: 0, change: 0, delete: 0, failed: 0, remaining: 1 } },
    { name: 'a conflict', v: view({}, [CONFLICT]), ok: false, out: ['Apply incomplete: 0 added, 0 changed, 0 removed, 1 conflict with foreign routes (left as is) (7 ms).'], err: [/^hint: /],
      summary: { add: 0, change: 0, delete: 0, failed: 0, remaining: 0 } },
  ];
  for (const r of rows) {
    assert.is(applyOk(r.v), r.ok, r.name);
    const t = applyText(r.v, plain, plain);
    const lines = t.out.join('\n').split('\n');
    assert.is(lines.length, r.out.length, `${r.name}: ${lines.join(' | ')}`);
    r.out.forEach((want, i) => assert.ok(lines[i].startsWith(want), `${r.name}: ${lines[i]} starts with ${want}`));
    assert.is(t.err.length, r.err.length, `${r.name}: ${t.err.join(' | ')}`);
    r.err.forEach((re, i) => assert.match(t.err[i], re, r.name));
    const j = JSON.parse(JSON.stringify(applyJSON(r.v))) as { version: number; ok: boolean; summary: object; applied: Array<{ peer: string | null }>; conflicts: Array<{ code: string }> };
    assert.is(j.version, 3);
    assert.is(j.ok, r.ok, r.name);
    assert.equal(j.summary, r.summary, r.name);
    assert.equal(j.applied.map((c) => c.peer), r.v.result.applied.map((c) => (c === ROUTE1 ? 'node-1' : null)), r.name);
    assert.equal(j.conflicts.map((c) => c.code), r.v.conflicts.map(() => 'foreign-route'), r.name);
  }
});

test('applyJSON names the saved plan it applied', () => {
  assert.is((applyJSON({ ...view(), planFile: '/root/p.plan' }) as { planFile?: string }).planFile, '/root/p.plan');
  assert.is((applyJSON(view()) as { planFile?: string }).planFile, undefined);
});

test.run();
