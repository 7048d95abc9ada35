// The bundle bin/ovlnet runs (scripts/bundle.mjs, dist/bundle/) keeps start-up
// small: --version, --help and a plan of a JSON cluster file load a few bundle
// files and none of the heavy libraries only some commands need (the Kubernetes
// client, etcd3, prom-client; yaml and js-yaml for a JSON file). What a run loaded is seen
// by a module-loader hook (every URL Node loads), mapped to packages through the
// bundle's metafile (dist/bundle-meta.json): a future eager import fails here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BIN, ROOT } from '../lib/cli.js';
import { clusterYAML, defaultNodes, withTopology } from '../lib/netns.js';
import { packageInfo } from '../../src/package.js';

const HEAVY = ['@kubernetes/client-node', 'etcd3', 'prom-client'];

interface MetaOutput {
  entryPoint?: string;
  inputs: Record<string, { bytesInOutput: number }>;
  imports: Array<{ path: string; kind: string; external?: boolean }>;
}
const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle-meta.json'), 'utf8')) as { outputs: Record<string, MetaOutput> };

/** Every package named in a path (…/node_modules/execa/node_modules/x/… names both). */
function packagesIn(path: string): string[] {
  return [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]);
}

/** The packages a bundle file holds (its inputs) or imports (external ones: Node loads them from node_modules). */
function packagesOfOutput(key: string): string[] {
  const o = meta.outputs[key];
  assert.ok(o, `${key} is in dist/bundle-meta.json (rebuilt with the bundle?)`);
  return [...Object.keys(o.inputs).flatMap(packagesIn), ...o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path)];
}

const hookDir = mkdtempSync(join(tmpdir(), 'ovlnet-bundle-test-'));
writeFileSync(join(hookDir, 'hooks.mjs'), [
  "import { appendFileSync } from 'node:fs';",
  'export async function load(url, context, next) {',
  '  appendFileSync(process.env.OVLNET_TEST_TRACE, url + "\\n");',
  '  return next(url, context);',
  '}',
].join('\n'));
writeFileSync(join(hookDir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
let runs = 0;

interface Loaded {
  code: number;
  stdout: string;
  stderr: string;
  /** Files other than Node's built-ins, relative to the package root. */
  files: string[];
  packages: Set<string>;
}

/** Runs the CLI as bin/ovlnet runs it and reports what it loaded. */
async function load(args: string[]): Promise<Loaded> {
  const trace = join(hookDir, `trace-${runs++}`);
  writeFileSync(trace, '');
  const r = await execa(process.execPath, ['--import', pathToFileURL(join(hookDir, 'register.mjs')).href, BIN, ...args],
    { env: { NO_COLOR: '1', OVLNET_TEST_TRACE: trace }, reject: false, input: '', timeout: 60_000 });
  const urls = readFileSync(trace, 'utf8').split('\n').filter((u) => u.startsWith('file:'));
  const files = urls.map((u) => relative(ROOT, fileURLToPath(u))).filter((f) => !f.startsWith('..') || f.includes('node_modules'));
  const packages = new Set<string>();
  for (const f of files) {
    for (const p of packagesIn(f)) packages.add(p);
    if (f.startsWith('dist/bundle/')) for (const p of packagesOfOutput(f)) packages.add(p);
  }
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), files, packages };
}

function assertOnlyBundle(l: Loaded, what: string): void {
  const other = l.files.filter((f) => f !== 'bin/ovlnet' && !f.startsWith('dist/bundle/'));
  assert.equal(other, [], `${what}: every module comes from dist/bundle/`);
  // esbuild splits code shared by lazily loaded commands into small chunks
  // (most under 5 KB), so the count grows with the number of commands and
  // backends, not with the work; what must never happen is hundreds of
  // modules (an unbundled dependency) or a heavy library (checked apart).
  assert.ok(l.files.length < 60, `${what}: a few dozen bundle files, not hundreds (${l.files.length})`);
}

function assertNone(l: Loaded, pkgs: string[], what: string): void {
  assert.equal(pkgs.filter((p) => l.packages.has(p)), [], `${what} loads none of ${pkgs.join(', ')} (loaded: ${[...l.packages].join(', ')})`);
}

test('the start-up chunks (the entry and what it imports statically) hold commander and ovlnet only', () => {
  const outputs = meta.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint === 'src/cli/main.ts');
  assert.ok(entry, 'the metafile names the entry src/cli/main.ts');
  const startup = new Set<string>();
  const walk = (k: string) => {
    if (startup.has(k)) return;
    startup.add(k);
    for (const i of outputs[k].imports) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(entry!);
  const pkgs = new Set([...startup].flatMap(packagesOfOutput));
  assert.equal([...pkgs], ['commander']);
});

test('--version and --help load only bundle files, no library a command needs', async () => {
  const v = await load(['--version']);
  assert.is(v.code, 0, v.stderr);
  assert.is(v.stdout.trim(), packageInfo().version);
  assertOnlyBundle(v, '--version');
  // bin/ovlnet answers --version alone from package.json: not even the bundle is loaded.
  assert.equal(v.files, ['bin/ovlnet'], '--version: the launcher only');
  const vd = await load(['--version', '--debug']);
  assert.is(vd.stdout.trim(), packageInfo().version, 'with other options, commander answers the same');
  assert.equal([...vd.packages], ['commander'], '--version --debug: commander only');

  const h = await load(['--help']);
  assert.is(h.code, 0, h.stderr);
  assert.match(h.stdout, /Usage: ovlnet/);
  assertOnlyBundle(h, '--help');
  assert.equal([...h.packages], ['commander'], '--help: commander only');
});

test('plan of a JSON cluster file loads no heavy library and no YAML parser; of a plain YAML file, js-yaml and not yaml (the check sees a lazy chunk load)', async () => {
  await withTopology(defaultNodes(1), async (t) => {
    const nodes = defaultNodes(3);
    const json = t.file('cluster.json', JSON.stringify({ network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 1, port: 8472 }, nodes }));
    const yaml = t.file('cluster.yaml', clusterYAML(nodes));
    const args = (f: string) => ['plan', '--source', `file:${f}`, '--node', 'node-a', '--netns', t.nodes[0].ns, '-o', 'json'];

    const j = await load(args(json));
    assert.is(j.code, 0, j.stderr);
    assert.equal((JSON.parse(j.stdout) as { peers: Array<{ name: string }> }).peers.map((p) => p.name), ['node-b', 'node-c']);
    assertOnlyBundle(j, 'plan (JSON)');
    assertNone(j, [...HEAVY, 'yaml', 'js-yaml'], 'plan of a JSON file');
    // The cluster file's key check takes three zod functions (about 30 KB in
    // the bundle). A namespace import of zod elsewhere (the plan file's
    // schema once) put all of it, 540 KB, in the chunk every plan loads.
    const zodBytes = j.files.filter((f) => f.startsWith('dist/bundle/'))
      .flatMap((f) => Object.entries(meta.outputs[f].inputs)).filter(([path]) => packagesIn(path).includes('zod'))
      .reduce((sum, [, i]) => sum + i.bytesInOutput, 0);
    assert.ok(zodBytes > 0 && zodBytes < 100_000, `plan of a JSON file loads the zod parts of the key check only (${zodBytes} bytes)`);

    const y = await load(args(yaml));
    assert.is(y.code, 0, y.stderr);
    assert.is(y.stdout, j.stdout, 'the bundled yaml reads the same cluster');
    assertOnlyBundle(y, 'plan (YAML)');
    assert.ok(y.packages.has('js-yaml'), 'plan of a YAML file loads the js-yaml chunk (src/sources/yaml-core.ts)');
    assertNone(y, [...HEAVY, 'yaml'], 'plan of a plain YAML file (no anchors, tags, block scalars)');
  });
});

test('the check sees a lazy library load: a kube source loads @kubernetes/client-node, from its bundle chunk', async () => {
  const k = await load(['nodes', '--source', `kube:${join(hookDir, 'no-such-kubeconfig')}`]);
  assert.is(k.code, 1);
  assert.match(k.stderr, /no-such-kubeconfig/);
  assert.ok(k.packages.has('@kubernetes/client-node'), `loaded: ${[...k.packages].join(', ')}`);
  assertOnlyBundle(k, 'kube source');
});

test('etcd3 is the one library left external (it reads .proto files beside its sources): no chunk holds it', () => {
  const holders = Object.keys(meta.outputs).filter((k) => Object.keys(meta.outputs[k].inputs).some((i) => i.includes('node_modules/etcd3/')));
  assert.equal(holders, []);
  assert.ok(Object.values(meta.outputs).some((o) => o.imports.some((i) => i.external && i.path === 'etcd3')), 'a chunk imports etcd3 from node_modules');
});

test('packageInfo finds the package root from dist/src and not from outside it', () => {
  const info = packageInfo();
  assert.is(info.root + '/', ROOT);
  assert.is(info.version, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  assert.is(packageInfo(pathToFileURL(join(ROOT, 'dist', 'bundle', 'main.js')).href).root, info.root);
  assert.throws(() => packageInfo(pathToFileURL(join(hookDir, 'x.js')).href), /cannot find ovlnet's package.json/);
});

test.after(() => rmSync(hookDir, { recursive: true, force: true }));

test.run();
