// The shipped Kubernetes manifests grant what the kube: source uses, and no more.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../lib/cli.js';
import { CONFIGMAP_NAME, CONFIGMAP_NAMESPACES } from '../../../src/sources/kube-map.js';

type Obj = Record<string, any>;
const load = (f: string): Obj[] => parseAllDocuments(readFileSync(`${ROOT}contrib/kubernetes/${f}`, 'utf8')).map((d) => {
  assert.equal(d.errors, [], f);
  return d.toJS();
});

function rulesOf(docs: Obj[], kind: string, name: string): Array<[string, string, string[]]> {
  const role = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(role, `${kind} ${name}`);
  return role!.rules.flatMap((r: Obj) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => [res, v, r.resourceNames ?? []])));
}

test('rbac.yaml: the daemon role covers list/watch/get nodes, patch nodes/status and get of the ConfigMap', () => {
  const docs = load('rbac.yaml');
  const cluster = rulesOf(docs, 'ClusterRole', 'ovlnet').map(([r, v]) => `${v} ${r}`).sort();
  assert.equal(cluster, ['get nodes', 'list nodes', 'patch nodes/status', 'watch nodes']);
  const ro = rulesOf(docs, 'ClusterRole', 'ovlnet-readonly').map(([r, v]) => `${v} ${r}`).sort();
  assert.equal(ro, ['get nodes', 'list nodes', 'watch nodes']);
  const role = docs.find((d) => d.kind === 'Role')!;
  assert.is(role.metadata.namespace, CONFIGMAP_NAMESPACES[0]);
  assert.equal(rulesOf(docs, 'Role', role.metadata.name), [['configmaps', 'get', [CONFIGMAP_NAME]]]);
  const sa = docs.find((d) => d.kind === 'ServiceAccount')!;
  for (const b of docs.filter((d) => d.kind.endsWith('Binding'))) {
    assert.equal(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }], b.metadata.name);
  }
});

test('daemonset.yaml runs the daemon with the kube source, NODE_NAME and that service account', () => {
  const [ds] = load('daemonset.yaml');
  const spec = ds.spec.template.spec;
  assert.is(spec.serviceAccountName, 'ovlnet');
  assert.is(spec.hostNetwork, true);
  const c = spec.containers[0];
  assert.is(c.args[0], 'daemon');
  assert.ok(c.args.includes('--source=kube:'));
  assert.equal(c.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  assert.ok(c.securityContext.capabilities.add.includes('NET_ADMIN'));
});

test.run();
