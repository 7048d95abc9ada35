import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import type { Change, Entry, Problem } from '../../../../src/model/types.js';
import type { CleanupPlan } from '../../../../src/reconcile/cleanup.js';
import { cleanupCount, cleanupJSON, cleanupPreviewText, cleanupText } from '../../../../src/render/views/cleanup.js';
import { ip, pfx } from '../../support/build.js';

const plain = new Chalk({ level: 0 });
const R: Entry = { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 };
const DEL: Change = { action: 'delete', kind: 'route', key: 'route:198.18.1.0/24', actual: R };
const KEPT: Problem = { subject: 'link flannel.2', message: 'kept: not ours' };
const UNREAD: Problem = { subject: 'iptables', message: 'not read', code: 'host-unread' };
const plan = (over: Partial<CleanupPlan> = {}): CleanupPlan => ({ changes: [DEL], netfilter: [], kept: [], ...over });

test('cleanup views: dry run, nothing to do, done, incomplete', () => {
  const rows: Array<{ name: string; text: string; json: object; want: { text: RegExp; summary: object; ok: boolean; extra?: object } }> = [
    { name: 'dry run', text: cleanupPreviewText(plan({ subnetFile: '/run/x/subnet.env' }), false, false, plain), json: cleanupJSON(plan({ subnetFile: '/run/x/subnet.env' }), true, []),
      want: { text: /^  - route 198\.18\.1\.0\/24 .*\n  - file \/run\/x\/subnet\.env\n\nDry run: 2 to remove\. Nothing was changed\.$/, summary: { add: 0, change: 0, delete: 2 }, ok: true } },
    { name: 'clean, iptables unread', text: cleanupPreviewText(plan({ changes: [] }), true, true, plain), json: cleanupJSON(plan({ changes: [], kept: [KEPT] }), true, [UNREAD]),
      want: { text: /^Nothing to clean up among the routes, devices and subnet file \(iptables was not read/, summary: { add: 0, change: 0, delete: 0 }, ok: true, extra: { kept: [{ code: 'kept', subject: 'link flannel.2', message: 'kept: not ours' }], unread: [{ code: 'host-unread', subject: 'iptables', message: 'not read' }] } } },
    { name: 'clean', text: cleanupPreviewText(plan({ changes: [] }), true, false, plain), json: cleanupJSON(plan({ changes: [] }), false, []),
      want: { text: /^Nothing to clean up: no ovlnet routes/, summary: { add: 0, change: 0, delete: 0 }, ok: true } },
    { name: 'done', text: cleanupText(plan(), { ok: true, failures: [], remaining: [], durationMs: 5 }, plain, plain).out.join('\n'), json: cleanupJSON(plan(), false, [], { ok: true, failures: [], remaining: [], durationMs: 5 }),
      want: { text: /\n\nCleanup complete: 1 removed \(5 ms\)\.$/, summary: { add: 0, change: 0, delete: 1 }, ok: true, extra: { failures: [], durationMs: 5 } } },
    { name: 'incomplete', text: cleanupText(plan(), { ok: false, failures: ['x: busy'], remaining: [DEL], durationMs: 5 }, plain, plain).out.join('\n'), json: cleanupJSON(plan(), false, [], { ok: false, failures: ['x: busy'], remaining: [DEL], durationMs: 5 }),
      want: { text: /Cleanup incomplete: 1 to remove, 1 failed, 1 still there \(5 ms\)\.$/, summary: { add: 0, change: 0, delete: 1 }, ok: false, extra: { failures: ['x: busy'] } } },
  ];
  for (const r of rows) {
    assert.match(r.text, r.want.text, r.name);
    const j = JSON.parse(JSON.stringify(r.json)) as Record<string, unknown> & { remove: Array<{ peer: unknown }> };
    assert.is(j.version, 3, r.name);
    assert.equal(j.summary, r.want.summary, r.name);
    assert.is(j.ok, r.want.ok, r.name);
    for (const [k, v] of Object.entries(r.want.extra ?? {})) assert.equal(j[k], v, `${r.name}: ${k}`);
    assert.ok(j.remove.every((c) => c.peer === null), r.name);
  }
  const failed = cleanupText(plan(), { ok: false, failures: ['x: busy'], remaining: [DEL], durationMs: 5 }, plain, plain).err;
  assert.equal(failed.map((l) => l.split(':')[0]), ['failed', 'not removed', 'hint']);
  assert.is(cleanupCount(plan({ subnetFile: 'f' })), 2);
});

test.run();
