// accept_ra = 0 on the vxlan devices (issue 15.7), a pinned per-device sysctl
// setting: planned on every vxlan device, diffed (drift shown), repaired, never
// deleted, followed by the daemon's kernel model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { acceptRaOff } from '../../../src/backends/vxlan/sysctl.js';
import { applyToActual } from '../../../src/daemon/kernel-model.js';
import { writePhasesFor } from '../../../src/engine/phases.js';
import { parseSysctlShow, sysctlPath, sysctlWriteArgs } from '../../../src/host/sysctl-text.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { ActualState } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, cluster, HOSTGW, node, underlay } from '../support/build.js';

const RA = acceptRaOff('flannel.1');
const KEY = entryKey(RA);
const N = [0, 1].map((i) => node(i));

test('planned: accept_ra 0 on every vxlan device, nothing for host-gw or udp', () => {
  const vx = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
  assert.equal(vx.entries.filter((e) => e.kind === 'sysctl'), [RA]);
  for (const backend of [HOSTGW, { type: 'udp' as const, port: 8285 }]) {
    assert.equal(plan({ cluster: cluster(N, N[0], backend), underlay: underlay() }).entries.filter((e) => e.kind === 'sysctl'), []);
  }
});

const VX = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
// The whole vxlan plan in place, the setting as given; `fresh`: the device is recreated (its VNI differs).
const host = (v: number | undefined | 'unread', fresh = false): ActualState => {
  const a = actualFrom(VX.entries);
  if (v === 'unread') a.sysctl = undefined;
  else (a.sysctl ??= new Map()).set(KEY, v);
  if (fresh) a.links.get('flannel.1')!.vxlan!.id = 2;
  return a;
};
const ROWS: Array<[string, ActualState, string | undefined]> = [
  ['in place', host(0), undefined],
  ['drift: 1 -> 0', host(1), 'change (accept_ra 1 -> 0)'],
  ['drift: 2 -> 0', host(2), 'change (accept_ra 2 -> 0)'],
  ['the kernel has no such setting (IPv6 off): nothing to pin', host(undefined), undefined],
  ['not read (the device does not exist yet)', host('unread'), 'add'],
  ['a device created or recreated now: set again', host(0, true), 'add'],
  ['recreated on a kernel without IPv6: written (the write finds nothing to pin)', host(undefined, true), 'add'],
];
for (const [name, actual, want] of ROWS) {
  test(`diff of the sysctl kind: ${name}`, () => {
    const r = diff(VX, actual, ownershipFor('flannel.1'));
    const c = r.changes.find((x) => x.key === KEY);
    assert.is(c ? `${c.action}${c.detail ? ` (${c.detail})` : ''}` : undefined, want);
  });
}

test('written by one sysctl process for every setting, after the device exists', () => {
  const v6 = acceptRaOff('flannel-v6.1');
  const changes = [RA, v6].map((e) => ({ action: 'add' as const, kind: 'sysctl' as const, key: entryKey(e), desired: e }));
  const link = VX.entries.find((e) => e.kind === 'link')!;
  const all = orderChanges([...changes, { action: 'add', kind: 'link', key: entryKey(link), desired: link }]);
  assert.equal(all.map((c) => c.kind), ['link', 'sysctl', 'sysctl']);
  const phases = writePhasesFor(all, VX.entries, actualFrom([]));
  const last = phases[phases.length - 1];
  assert.equal(last.map((b) => [b.tool, b.lines.map((l) => l.line)]), [['sysctl', ['net/ipv6/conf/flannel.1/accept_ra=0', 'net/ipv6/conf/flannel-v6.1/accept_ra=0']]]);
  assert.ok(phases.slice(0, -1).flat().every((b) => b.tool === 'ip'));
});

test('diff: drift is a change, in place counts as in sync, and the setting is never deleted', () => {
  const d = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
  const policy = ownershipFor('flannel.1');
  const ok = actualFrom(d.entries);
  assert.equal(diff(d, ok, policy).changes, []);
  assert.is(diff(d, ok, policy).inSync, d.entries.length);
  ok.sysctl!.set(KEY, 1);
  assert.equal(diff(d, ok, policy).changes.map((c) => `${c.action} ${c.key} (${c.detail})`), ['change sysctl:flannel.1/accept_ra (accept_ra 1 -> 0)']);
  // Without the entry in the plan (another backend), nothing is deleted.
  const hg = plan({ cluster: cluster(N, N[0], HOSTGW), underlay: underlay() });
  assert.ok(diff(hg, ok, ownershipFor(undefined)).changes.every((c) => c.kind !== 'sysctl'));
});

test('kernel model: a written setting is modelled; the next event cycle diffs clean', () => {
  const d = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
  const policy = ownershipFor('flannel.1');
  const a = actualFrom(d.entries);
  a.sysctl!.set(KEY, 1);
  const changes = diff(d, a, policy).changes;
  const model = applyToActual(a, changes);
  assert.ok(model);
  assert.is(model!.sysctl!.get(KEY), 0);
  assert.is(a.sysctl!.get(KEY), 1, 'the input is untouched');
  assert.equal(diff(d, model!, policy).changes, []);
});

test('sysctl text: the slash form, dots of device names kept; output parsed back; bad names refused', () => {
  assert.is(sysctlPath(acceptRaOff('flannel-v6.1')), 'net/ipv6/conf/flannel-v6.1/accept_ra');
  assert.equal(sysctlWriteArgs([RA, acceptRaOff('flannel-v6.1')]), ['-q', '-w', 'net/ipv6/conf/flannel.1/accept_ra=0', 'net/ipv6/conf/flannel-v6.1/accept_ra=0']);
  // As procps sysctl prints it (recorded): the dot of the device name becomes a slash.
  const out = 'net.ipv6.conf.flannel/1.accept_ra = 1\nnet.ipv6.conf.flannel-v6/1.accept_ra = 0\n';
  const v6 = acceptRaOff('flannel-v6.1');
  const missing = acceptRaOff('flannel.7');
  assert.equal([...parseSysctlShow(out, [RA, v6, missing])], [[KEY, 1], [entryKey(v6), 0], [entryKey(missing), undefined]]);
  for (const dev of ['flannel.1/../../../all', 'a b', 'dev', '']) assert.throws(() => sysctlPath({ dev, name: 'accept_ra' }), /refusing to render sysctl/);
  assert.throws(() => sysctlPath({ dev: 'flannel.1', name: '../forwarding' }), /refusing to render sysctl/);
  assert.throws(() => sysctlWriteArgs([{ ...RA, value: 0.5 }]), /refusing to render sysctl value/);
});

test.run();
