// The kube: source's own client (src/sources/kube-http.ts, kube-auth.ts)
// against the fake API server: paged lists, a continue token that expires
// mid-list, Nodes kept cut down, and the credentials a kubeconfig can name
// (exec plugins, token files, client certificates, basic auth, impersonation).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource } from '../../src/sources/index.js';
import { KubeCredentials } from '../../src/sources/kube-auth.js';
import { ovlnet } from '../lib/cli.js';
import { FakeKube, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';

async function withFake<T>(nodes: number, fn: (f: FakeKube, dir: string) => Promise<T>): Promise<T> {
  const f = await FakeKube.start();
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-kube-client-'));
  try {
    f.realisticNodes = true;
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    for (let i = 0; i < nodes; i++) {
      const mac = `0a:58:c6:12:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      f.addNode({ name: `node-${String(i).padStart(4, '0')}`, podCIDR: `198.18.${i >> 6}.${(i & 63) * 4}/30`, annotations: flannelAnnotations(`192.0.2.${1 + (i % 250)}`, mac) });
    }
    return await fn(f, dir);
  } finally {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a list of more than one page is read page by page, and every Node is seen', () => withFake(1100, async (f, dir) => {
  const s = await openSource(`kube:${f.writeKubeconfig(dir)}`, { nodeName: 'node-0000' });
  try {
    const st = await s.load();
    assert.is(st.nodes.length, 1100);
    assert.is(f.listCount, 1);
    assert.is(f.listPageCount, 3, '500 + 500 + 100');
    const pages = f.requests.filter((r) => r.path === '/api/v1/nodes');
    assert.equal(pages.map((r) => r.query.get('limit')), ['500', '500', '500']);
    assert.is(pages[0].query.get('continue'), null);
    assert.ok(pages[1].query.get('continue') && pages[2].query.get('continue'));
  } finally {
    await s.close();
  }
}));

test('a continue token that expired mid-list starts the list over; one that keeps expiring is an error naming the list', () => withFake(600, async (f, dir) => {
  const s = await openSource(`kube:${f.writeKubeconfig(dir)}`, { nodeName: 'node-0000' });
  try {
    f.expireContinueTokens = 1;
    const st = await s.load();
    assert.is(st.nodes.length, 600, 'the restarted list has every Node, none twice');
    assert.is(f.listCount, 2);
    f.expireContinueTokens = 100;
    const e = await s.load().then(() => undefined, (x: Error) => x);
    assert.ok(e, 'a list that never completes fails');
    assert.match(e!.message, /cannot list nodes at .*HTTP 410/);
    assert.is(f.listCount, 2 + 4, 'the first try and three restarts');
  } finally {
    await s.close();
  }
}));

test('the watch keeps Nodes cut down and reports a flannel change, not a heartbeat', () => withFake(3, async (f, dir) => {
  const s = await openSource(`kube:${f.writeKubeconfig(dir)}`, { nodeName: 'node-0000' });
  let changes = 0;
  const stop = s.watch!({ onChange: () => changes++, onError: (e) => { throw e; }, onNotice() {} });
  try {
    const until = async (pred: () => boolean, what: string) => {
      const end = Date.now() + 15_000;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => changes >= 1 && f.openWatches === 1, 'the first list and the watch');
    const before = changes;
    f.modifyNode('node-0001', (n) => { n.status.conditions[0].lastHeartbeatTime = '2024-05-01T10:06:00Z'; });
    f.modifyNode('node-0002', (n) => { n.metadata.annotations['flannel.alpha.coreos.com/public-ip'] = '192.0.2.200'; });
    await until(() => changes > before, 'the change');
    const st = await s.load();
    assert.is(st.nodes.find((n) => n.name === 'node-0002')?.publicIP, '192.0.2.200');
    assert.is(changes, before + 1, 'the heartbeat was no change');
  } finally {
    stop();
    await s.close();
  }
}));

test('an exec credential plugin authenticates the requests (its token, its environment)', () => withFake(2, async (f, dir) => {
  const plugin = join(dir, 'plugin.mjs');
  writeFileSync(plugin, [
    'process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential",',
    '  status: { token: process.env.PLUGIN_TOKEN, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));',
  ].join('\n'));
  chmodSync(plugin, 0o755);
  const kc = join(dir, 'exec-kubeconfig');
  writeFileSync(kc, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{ name: fake, cluster: { server: "${f.url}" } }]`,
    'users:',
    '- name: plugin',
    '  user:',
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1beta1',
    `      command: ${JSON.stringify(process.execPath)}`,
    `      args: [${JSON.stringify(plugin)}]`,
    `      env: [{ name: PLUGIN_TOKEN, value: ${JSON.stringify(f.token)} }]`,
    '      interactiveMode: Never',
    'contexts: [{ name: fake, context: { cluster: fake, user: plugin } }]',
    'current-context: fake', '',
  ].join('\n'));
  const r = await ovlnet(['plan', '--source', `kube:${kc}`, '--node', 'node-0000', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).peers.length, 1);
  assert.ok(f.requests.length >= 2);
  for (const q of f.requests) assert.is(q.authorization, `Bearer ${f.token}`, `${q.method} ${q.path}`);
}));

test('credentials: token file (in-cluster), client certificate and CA (files relative to the kubeconfig, or data), tls-server-name, basic auth, impersonation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-kube-auth-'));
  try {
    writeFileSync(join(dir, 'token'), 'sa-token-1');
    writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
    const inCluster = new KubeCredentials();
    inCluster.loadFromCluster({ KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    assert.is(inCluster.getCurrentCluster()?.server, 'https://[2001:db8::1]:443');
    const o = await inCluster.requestOptions();
    assert.is(o.headers.Authorization, 'Bearer sa-token-1');
    assert.is(String(o.ca), 'CA PEM');
    const plain = new KubeCredentials();
    plain.loadFromCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '8080' }, dir);
    assert.is(plain.getCurrentCluster()?.server, 'http://10.96.0.1:8080');

    writeFileSync(join(dir, 'client.crt'), 'CERT PEM');
    writeFileSync(join(dir, 'client.key'), 'KEY PEM');
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{ name: c, cluster: { server: "https://192.0.2.1:6443/", certificate-authority-data: ${Buffer.from('CA DATA').toString('base64')}, tls-server-name: api.example } }]`,
      'users:',
      '- { name: cert, user: { client-certificate: client.crt, client-key: client.key, as: alice } }',
      '- { name: basic, user: { username: bob, password: secret } }',
      'contexts: [{ name: cert, context: { cluster: c, user: cert } }, { name: basic, context: { cluster: c, user: basic } }]',
      'current-context: cert', '',
    ].join('\n'));
    const creds = new KubeCredentials();
    creds.loadFromFile(kc);
    assert.is(creds.getCurrentCluster()?.server, 'https://192.0.2.1:6443', 'trailing slash dropped, as the library does');
    const c = await creds.requestOptions();
    assert.is(String(c.cert), 'CERT PEM');
    assert.is(String(c.key), 'KEY PEM');
    assert.is(String(c.ca), 'CA DATA');
    assert.is(c.servername, 'api.example');
    assert.is(c.headers['Impersonate-User'], 'alice');
    assert.is(c.headers.Authorization, undefined);
    assert.is(c.rejectUnauthorized, undefined, 'verification stays on');
    creds.currentContext = 'basic';
    const b = await creds.requestOptions();
    assert.is(b.auth, 'bob:secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('https: the kubeconfig\'s CA and tls-server-name verify the server; without them the source refuses it; insecure-skip-tls-verify skips', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-kube-tls-'));
  // A self-signed certificate for the name kube.example only (not 127.0.0.1).
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.crt'), '-subj', '/CN=kube.example', '-addext', 'subjectAltName=DNS:kube.example'], { encoding: 'utf8' });
  assert.is(gen.status, 0, `openssl: ${gen.stderr}`);
  const f = await FakeKube.start(undefined, { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'ca.crt'), 'utf8') });
  try {
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    f.addNode({ name: 'node-a', podCIDR: '198.18.0.0/24', annotations: flannelAnnotations('192.0.2.10', '0a:58:c6:12:00:0a') });
    f.addNode({ name: 'node-b', podCIDR: '198.18.1.0/24', annotations: flannelAnnotations('192.0.2.11', '0a:58:c6:12:00:0b') });
    const load = async (file: string, lines: string[]) => {
      const kc = f.writeKubeconfig(dir, f.token, file, lines);
      const s = await openSource(`kube:${kc}`, { nodeName: 'node-a' });
      try {
        return await s.load().then((st) => st.nodes.length, (e: Error) => e.message);
      } finally {
        await s.close();
      }
    };
    assert.is(await load('ok', ['certificate-authority: ca.crt', 'tls-server-name: kube.example']), 2, 'CA file relative to the kubeconfig, and the name to check');
    const data = Buffer.from(readFileSync(join(dir, 'ca.crt'))).toString('base64');
    assert.is(await load('data', [`certificate-authority-data: ${data}`, 'tls-server-name: kube.example']), 2, 'CA data');
    // The first request to fail names itself (the ConfigMap and the Nodes are read at once).
    assert.match(String(await load('noname', ['certificate-authority: ca.crt'])), /^cannot [a-z -]+ at https:\/\/127\.0\.0\.1:\d+: Hostname\/IP does not match certificate's altnames/);
    assert.match(String(await load('noca', ['tls-server-name: kube.example'])), /^cannot [a-z -]+ at https:\/\/127\.0\.0\.1:\d+: self-signed certificate/);
    assert.is(await load('insecure', ['insecure-skip-tls-verify: true']), 2);
    const r = await ovlnet(['plan', '--source', `kube:${join(dir, 'ok')}`, '--node', 'node-a', '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).peers.length, 1, 'the CLI (the bundle) over https too');
    for (const q of f.requests) assert.is(q.authorization, `Bearer ${f.token}`);
  } finally {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
