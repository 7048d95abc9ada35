// contrib/kubernetes/: every manifest is valid against the Kubernetes API
// schemas (kubernetes-models: types, required fields, formats) with no field
// the API does not know (the client library's models list every field), and
// kube-ovlnet.yml is a drop-in for flannel's kube-flannel.yml: the same
// namespace, ConfigMap, RBAC and DaemonSet identity, plus what ovlnet needs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { buildProgram } from '../../../src/cli/main.js';
import { DAEMON_NODE_OPTIONS } from '../../../src/cli/systemd-unit.js';
import { parseListenAddr } from '../../../src/daemon/server.js';
import { CONFIGMAP_NAME, CONFIGMAP_NAMESPACES, NETCONF_KEY } from '../../../src/sources/kube-map.js';
import { rawConfigFromObject } from '../../../src/sources/netconf.js';
import { validateConfig } from '../../../src/validate/config.js';
import { ROOT } from '../../lib/cli.js';

type Obj = Record<string, any>;
const DIR = `${ROOT}contrib/kubernetes/`;
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

function load(f: string): Obj[] {
  return parseAllDocuments(readFileSync(DIR + f, 'utf8')).map((d) => {
    assert.equal(d.errors, [], f);
    return d.toJS();
  }).filter((d) => d !== null);
}

const SCHEMAS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

/** Fields the API does not know, by the client library's model of each type (`V1DaemonSet`, `Array<V1Container>`, ...). */
function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, arr[1], `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(value as Obj).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`));
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Array<{ baseName: string; type: string }> }>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object') return [];
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value as Obj).flatMap(([k, v]) => (known.has(k) ? unknownFields(v, known.get(k)!, `${path}.${k}`) : [`${path}.${k}`]));
}

/** Schema errors and unknown fields of one object; [] when it is valid. */
function problems(doc: Obj): string[] {
  const Model = SCHEMAS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  const out: string[] = [];
  try {
    new Model(doc).validate();
  } catch (e) {
    out.push((e as Error).message);
  }
  const version = String(doc.apiVersion).split('/').pop()!;
  const type = `${version[0].toUpperCase()}${version.slice(1)}${doc.kind}`;
  out.push(...unknownFields(doc, type, `${doc.kind} ${doc.metadata?.name}`).map((p) => `unknown field ${p}`));
  return out;
}

test('every manifest is valid against the Kubernetes API schemas, with no unknown field', () => {
  assert.ok(FILES.includes('kube-ovlnet.yml') && FILES.includes('rbac-readonly.yaml'), FILES.join(' '));
  let n = 0;
  for (const f of FILES) {
    for (const doc of load(f)) {
      assert.equal(problems(doc), [], `${f}: ${doc.kind} ${doc.metadata?.name}`);
      n++;
    }
  }
  assert.ok(n >= 12, `${n} objects`);
});

test('the validation catches what the API server would refuse (wrong types, typos, missing fields)', () => {
  const ds = load('kube-ovlnet.yml').find((d) => d.kind === 'DaemonSet')!;
  const broken: Array<[string, (d: Obj) => void, RegExp]> = [
    ['port as text', (d) => { d.spec.template.spec.containers[0].ports[0].containerPort = 'x'; }, /containerPort must be integer/],
    ['misspelt probe', (d) => { d.spec.template.spec.containers[0].livenesProbe = {}; }, /unknown field .*containers\[0\]\.livenesProbe/],
    ['misspelt hostPath type', (d) => { d.spec.template.spec.volumes[0].hostPath.typ = 'File'; }, /unknown field .*volumes\[0\]\.hostPath\.typ/],
    ['no selector', (d) => { delete d.spec.selector; }, /selector/],
  ];
  for (const [what, breakIt, want] of broken) {
    const copy = structuredClone(ds);
    breakIt(copy);
    assert.match(problems(copy).join('\n'), want, what);
  }
});

const drop = load('kube-ovlnet.yml');
const find = (kind: string, name: string) => {
  const d = drop.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `${kind} ${name}`);
  return d!;
};
const rules = (role: Obj) => role.rules.flatMap((r: Obj) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${v} ${res}${r.resourceNames ? ` ${r.resourceNames.join(',')}` : ''}`))).sort();

test("drop-in: flannel's namespace (privileged Pod Security), ConfigMap, ServiceAccount and RBAC names", () => {
  const ns = find('Namespace', 'kube-flannel');
  assert.is(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
  assert.is(CONFIGMAP_NAMESPACES[0], 'kube-flannel');
  const cm = find('ConfigMap', CONFIGMAP_NAME);
  assert.is(cm.metadata.namespace, 'kube-flannel');
  // net-conf.json is valid for ovlnet as flanneld reads it; cni-conf.json is flannel's CNI chain.
  const net = validateConfig(rawConfigFromObject(JSON.parse(cm.data[NETCONF_KEY]), 'net-conf.json'));
  assert.is(net.backend.type, 'vxlan');
  assert.is(JSON.parse(cm.data['cni-conf.json']).plugins[0].type, 'flannel');
  find('ServiceAccount', 'flannel');
  // flannel's ClusterRole exactly, and ovlnet's one addition: reading that one ConfigMap.
  assert.equal(rules(find('ClusterRole', 'flannel')), ['get nodes', 'get pods', 'list nodes', 'patch nodes/status', 'watch nodes']);
  const role = drop.find((d) => d.kind === 'Role')!;
  assert.is(role.metadata.namespace, 'kube-flannel');
  assert.equal(rules(role), [`get configmaps ${CONFIGMAP_NAME}`]);
  for (const b of drop.filter((d) => d.kind.endsWith('Binding'))) {
    assert.equal(b.subjects, [{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-flannel' }], b.metadata.name);
    find(b.roleRef.kind, b.roleRef.name);
  }
  const ro = load('rbac-readonly.yaml');
  assert.equal(rules(ro.find((d) => d.kind === 'ClusterRole')!), ['get nodes', 'list nodes', 'watch nodes']);
  assert.equal(rules(ro.find((d) => d.kind === 'Role')!), [`get configmaps ${CONFIGMAP_NAME}`]);
});

test('drop-in DaemonSet: flannel\'s identity and install-cni init containers, ovlnet daemon with --ip-masq, probes, metrics, xtables lock', () => {
  const ds = find('DaemonSet', 'kube-flannel-ds');
  assert.is(ds.metadata.namespace, 'kube-flannel');
  assert.equal(ds.spec.selector, { matchLabels: { app: 'flannel' } }, "flannel's (immutable) selector: applying over flannel updates it in place");
  const spec = ds.spec.template.spec;
  assert.is(spec.serviceAccountName, 'flannel');
  assert.is(spec.hostNetwork, true);
  assert.equal(spec.initContainers.map((c: Obj) => [c.name, c.image.split(':')[0], [...c.command, ...c.args].join(' ')]), [
    ['install-cni-plugin', 'ghcr.io/flannel-io/flannel-cni-plugin', 'cp -f /flannel /opt/cni/bin/flannel'],
    ['install-cni', 'ghcr.io/flannel-io/flannel-cni-plugin', 'cp -f /etc/kube-flannel/cni-conf.json /etc/cni/net.d/10-flannel.conflist'],
  ]);
  const [c] = spec.containers;
  assert.is(c.args[0], 'daemon');
  // Every flag is one `ovlnet daemon` knows, with a value it accepts.
  const daemon = buildProgram().commands.find((x) => x.name() === 'daemon')!;
  const longs = new Set(daemon.options.map((o) => o.long));
  for (const a of c.args.slice(1)) assert.ok(longs.has(String(a).split('=')[0]), `ovlnet daemon ${a}`);
  assert.ok(c.args.includes('--source=kube:'));
  assert.ok(c.args.includes('--ip-masq'));
  const metrics = parseListenAddr(c.args.find((a: string) => a.startsWith('--metrics-addr=')).split('=')[1]);
  assert.is(metrics.host, '0.0.0.0', 'reachable by a cluster Prometheus');
  const port = c.ports.find((p: Obj) => p.name === 'metrics');
  assert.is(port.containerPort, metrics.port);
  const ann = ds.spec.template.metadata.annotations;
  assert.equal([ann['prometheus.io/scrape'], ann['prometheus.io/port'], ann['prometheus.io/path']], ['true', String(metrics.port), '/metrics']);
  assert.equal([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/healthz', 'metrics']);
  assert.equal([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/readyz', 'metrics']);
  const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
  assert.equal(env, { NODE_NAME: 'spec.nodeName', POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', NODE_OPTIONS: DAEMON_NODE_OPTIONS });
  assert.equal(c.securityContext.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
  assert.is(c.securityContext.privileged, false);
  const volumes = new Map(spec.volumes.map((v: Obj) => [v.name, v]));
  for (const m of [...c.volumeMounts, ...spec.initContainers.flatMap((i: Obj) => i.volumeMounts)]) assert.ok(volumes.has(m.name), `volume ${m.name}`);
  const lock = c.volumeMounts.find((m: Obj) => m.mountPath === '/run/xtables.lock');
  assert.equal((volumes.get(lock.name) as Obj).hostPath, { path: '/run/xtables.lock', type: 'FileOrCreate' });
  assert.is((volumes.get(c.volumeMounts.find((m: Obj) => m.mountPath === '/run/flannel').name) as Obj).hostPath.path, '/run/flannel');
});

test('the DaemonSet gives the daemon the Node options the systemd unit gives it', () => {
  const ds = load('kube-ovlnet.yml').find((d) => d.kind === 'DaemonSet')!;
  const env: Array<{ name: string; value?: string }> = ds.spec.template.spec.containers[0].env;
  assert.equal(env.filter((e) => e.name === 'NODE_OPTIONS'), [{ name: 'NODE_OPTIONS', value: DAEMON_NODE_OPTIONS }]);
});

test.run();
