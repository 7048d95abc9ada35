import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSavedPlan, parseSavedPlan, planSettings, savedPlanDocument, sourceWithoutCredentials, withoutSecrets, type CurrentState, type SavedPlanInput } from '../../../src/engine/saved-plan.js';
import { PlanFileError, StalePlanError } from '../../../src/errors.js';
import { rejectsLike, throwsLike } from '../support/build.js';

const CHANGE = { action: 'add', kind: 'route', key: 'route 198.18.1.0/24', desired: { kind: 'route', dst: '198.18.1.0/24' }, peer: 'node-1' };

function input(over: Partial<SavedPlanInput> = {}): SavedPlanInput {
  return {
    target: { node: 'node-0', netns: 'ns-a', backend: 'vxlan', source: 'file:/etc/ovlnet/cluster.yaml' },
    settings: { txOffload: 'auto', ipMasq: false, forwardRules: true },
    fingerprints: { source: 'sha256:s1', host: 'sha256:h1' },
    summary: { add: 1, change: 0, delete: 0 },
    changes: [CHANGE],
    ovlnetVersion: '0.1.0',
    now: new Date('2026-12-03T10:00:00Z'),
    ...over,
  };
}

const text = (doc: object) => JSON.stringify(doc, null, 2);

function current(over: Partial<CurrentState> = {}): CurrentState {
  const doc = savedPlanDocument(input());
  return { target: { ...doc.target }, settings: { ...doc.settings }, fingerprints: { ...doc.fingerprints }, ...over };
}

test('a written plan reads back as written', async () => {
  const doc = savedPlanDocument(input());
  assert.equal(await parseSavedPlan('p.json', text(doc)), doc);
  assert.is(doc.format, 'ovlnet-plan');
  assert.is(doc.version, 1);
  assert.match(doc.checksum, /^sha256:[0-9a-f]{64}$/);
  assert.not.throws(() => checkSavedPlan('p.json', doc, current()));
});

test('no secret goes into the file: secret-named fields at any depth, credentials in the source address', () => {
  const withKey = { ...CHANGE, desired: { kind: 'wireguard', privateKey: 'c2VjcmV0', publicKey: 'cHVi', peers: [{ presharedKey: 'x', endpoint: '192.0.2.1:51820' }] } };
  const doc = savedPlanDocument(input({
    changes: [withKey],
    settings: { ipMasq: true, etcdPassword: 'hunter2' },
    target: { node: 'node-0', netns: null, backend: 'vxlan', source: 'etcd://root:hunter2@127.0.0.1:2379/coreos.com/network' },
  }));
  const written = text(doc);
  for (const secret of ['c2VjcmV0', 'hunter2', 'privateKey', 'presharedKey', 'etcdPassword']) assert.not.ok(written.includes(secret), secret);
  assert.ok(written.includes('cHVi'), 'a public key stays');
  assert.is(doc.target.source, 'etcd://127.0.0.1:2379/coreos.com/network');
  const rows: Array<[unknown, unknown]> = [
    [{ token: 'a', name: 'b' }, { name: 'b' }],
    [[{ Secret: 1 }, { PrivateKey: 2, key: 3 }], [{}, { key: 3 }]],
    ['text', 'text'],
  ];
  for (const [v, want] of rows) assert.equal(withoutSecrets(v), want);
  assert.is(sourceWithoutCredentials('file:/a@b'), 'file:/a@b');
});

test('a corrupt, foreign, newer or modified file is refused with what is wrong', async () => {
  const doc = savedPlanDocument(input());
  const rows: Array<[string, string, RegExp]> = [
    ['truncated', text(doc).slice(0, 100), /p\.json: not a plan file \(invalid JSON/],
    ['empty', '', /not a plan file \(invalid JSON/],
    ['diff -o json', JSON.stringify({ version: 3, changes: [] }), /not a plan file \(no "format": "ovlnet-plan"\)/],
    ['newer version', text({ ...doc, version: 2 }), /plan file version 2; this ovlnet reads version 1/],
    ['a field missing', text({ ...doc, target: undefined }), /not a valid plan file: target/],
    ['a change edited', text({ ...doc, changes: [{ ...CHANGE, key: 'route 198.18.9.0/24' }] }), /modified after "ovlnet plan --out" wrote it/],
    ['a fingerprint edited', text({ ...doc, fingerprints: { ...doc.fingerprints, host: 'sha256:h2' } }), /modified after/],
  ];
  for (const [name, t, re] of rows) {
    const e = await rejectsLike(parseSavedPlan('p.json', t), PlanFileError, re);
    assert.ok((e as PlanFileError).hint, name);
  }
});

test('a plan for another node, namespace, backend or settings is refused naming both', () => {
  const doc = savedPlanDocument(input());
  const cur = current();
  const rows: Array<[string, CurrentState, RegExp]> = [
    ['node', { ...cur, target: { ...cur.target, node: 'node-1' } }, /made for node node-0, this is node node-1/],
    ['netns', { ...cur, target: { ...cur.target, netns: null } }, /made for namespace ns-a, not the host namespace/],
    ['backend', { ...cur, target: { ...cur.target, backend: 'host-gw' } }, /made for the vxlan backend; the source now says host-gw/],
    ['settings', { ...cur, settings: { ...cur.settings, ipMasq: true } }, /planned with other settings \(ipMasq: false in the plan, true now\)/],
    ['a setting added', { ...cur, settings: { ...cur.settings, iface: 'eth1' } }, /iface: null in the plan, eth1 now/],
  ];
  for (const [, now, re] of rows) throwsLike(() => checkSavedPlan('p.json', doc, now), PlanFileError, re);
});

test('a moved source or host state makes the plan stale, naming which moved', () => {
  const doc = savedPlanDocument(input());
  const cur = current();
  const rows: Array<[Partial<CurrentState['fingerprints']>, RegExp, string[]]> = [
    [{ source: 'sha256:s2' }, /saved plan is stale: the source state \(its config or nodes\) has changed/, ['source']],
    [{ host: 'sha256:h2' }, /saved plan is stale: the host state .* has changed/, ['host']],
    [{ source: 'sha256:s2', host: 'sha256:h2' }, /both the source state and the host state have changed/, ['source', 'host']],
    [{ changes: 'sha256:c2' }, /the same state gives other changes than the ones saved/, []],
  ];
  const elsewhere = { ...cur, target: { ...cur.target, source: 'etcd://u:pw@127.0.0.1:2379' }, fingerprints: { ...cur.fingerprints, source: 'sha256:s2' } };
  const e = throwsLike(() => checkSavedPlan('p.json', doc, elsewhere), StalePlanError, /\(planned from file:\/etc\/ovlnet\/cluster\.yaml, read now from etcd:\/\/127\.0\.0\.1:2379\); nothing was changed$/);
  assert.not.match(e.message, /pw/);
  for (const [fp, re, moved] of rows) {
    const e = throwsLike(() => checkSavedPlan('p.json', doc, { ...cur, fingerprints: { ...cur.fingerprints, ...fp } }), StalePlanError, re) as StalePlanError;
    assert.equal([...e.moved], moved);
    assert.match(e.hint!, /ovlnet plan --out/);
  }
});

test('planSettings: the options that shape the plan, without node, namespace or secrets', () => {
  assert.equal(planSettings({ netns: 'a', node: 'b', offline: false, ipMasq: true, txOffload: 'auto', masqRandomFully: undefined, etcdPassword: 'x' }), { ipMasq: true, txOffload: 'auto' });
});

test.run();
