// The package as an operator gets it: `npm pack`, then a global install of the
// tarball into a temporary prefix with an empty npm cache and --offline, so
// it must be self-contained (its dependencies are bundled; production nodes
// often cannot reach a registry). Then, from another directory: --version,
// plan on the bundled example, the man page through MANPATH, the completions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/** npm without the settings of an `npm test` that may run us (npm_config_*). */
function npmEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return { ...env, HOME: home, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

test('npm pack | npm install -g --offline into a temporary prefix; it runs from anywhere', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ovlnet-pkg-'));
  try {
    const env = npmEnv(tmp);
    // dist/ is built by `npm test`; scripts off so packing does not rebuild it.
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env, extendEnv: false, reject: false });
    assert.is(packed.exitCode, 0, String(packed.stderr));
    const info = (JSON.parse(String(packed.stdout)) as Array<{ filename: string; files: Array<{ path: string }>; bundled: string[] }>)[0];
    const files = new Set(info.files.map((f) => f.path));
    for (const f of ['package.json', 'README.md', 'bin/ovlnet', 'dist/bundle/main.js', 'man/ovlnet.8', 'examples/cluster.yaml',
      'completions/ovlnet.bash', 'completions/_ovlnet', 'completions/ovlnet.fish']) {
      assert.ok(files.has(f), `${f} is in the tarball`);
    }
    // Everything shipped from these folders, whatever they hold (contrib/ has the systemd unit; README links to docs/).
    for (const dir of ['man', 'completions', 'contrib', 'examples', 'docs']) {
      if (!existsSync(join(ROOT, dir))) continue;
      for (const f of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
        if (f.isFile()) {
          const rel = join(f.parentPath ?? (f as unknown as { path: string }).path, f.name).slice(ROOT.length);
          assert.ok(files.has(rel), `${rel} is in the tarball`);
        }
      }
    }
    assert.not.ok([...files].some((f) => f.startsWith('dist/test/') || f.startsWith('dist/src/') || f.startsWith('src/') || f.startsWith('test/')), 'no sources, tests or second (unbundled) copy of ovlnet in the tarball');
    assert.not.ok([...files].some((f) => f.startsWith('dist/') && /\.(map|d\.ts)$/.test(f)), 'no source maps or type declarations of ovlnet');
    // One copy of each library: what the bundle holds is not shipped again in node_modules.
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle-meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const inBundle = new Set(Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs)).flatMap((i) => [...i.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1])));
    const shipped = new Set([...files].flatMap((f) => [...f.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1])));
    // (etcd3's own dependencies may share a name with a library the bundle holds: that copy is etcd3's.)
    const own = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
    assert.ok(inBundle.has('@kubernetes/client-node') && inBundle.has('commander'), 'the bundle holds the libraries');
    assert.equal(own.filter((p) => inBundle.has(p) && shipped.has(p)), [], 'the libraries in the bundle are not also in node_modules');
    // etcd3 (external to the bundle: it reads .proto files at run time) and its own dependencies.
    assert.ok(info.bundled.includes('etcd3'), 'etcd3 is bundled');
    assert.not.ok(info.bundled.includes('@kubernetes/client-node') || info.bundled.includes('commander'), 'libraries in the bundle are not bundled dependencies');
    const tarball = statSync(join(tmp, info.filename)).size;
    assert.ok(tarball <= 4 * 1024 * 1024, `the tarball is at most 4 MB (${(tarball / 1048576).toFixed(1)} MB, ${files.size} files)`);

    const prefix = join(tmp, 'prefix');
    // The install command the docs give: npm 11 matches --allow-scripts against the tarball's absolute path.
    const tgz = join(tmp, info.filename);
    const installed = await execa('npm', ['install', '-g', '--offline', `--allow-scripts=${tgz}`, '--prefix', prefix, '--cache', join(tmp, 'empty-cache'), tgz],
      { cwd: tmp, env, extendEnv: false, reject: false });
    assert.is(installed.exitCode, 0, String(installed.stderr));
    assert.not.match(String(installed.stderr), /install-scripts|allowScripts/, 'no warning about install scripts');
    assert.ok(existsSync(join(prefix, 'lib', 'node_modules', pkg.name, 'build', 'Release', 'ovlnet_tun.node')), 'the udp addon was built by the install script');

    const bin = join(prefix, 'bin', 'ovlnet');
    const elsewhere = mkdtempSync(join(tmp, 'cwd-'));
    const run = (args: string[]) => execa(bin, args, { cwd: elsewhere, env: { ...env, NO_COLOR: '1' }, extendEnv: false, reject: false, stripFinalNewline: false });
    const version = await run(['--version']);
    assert.is(version.exitCode, 0, String(version.stderr));
    assert.is(String(version.stdout).trim(), pkg.version);

    const example = join(prefix, 'lib', 'node_modules', pkg.name, 'examples', 'cluster.yaml');
    const plan = await run(['plan', '--source', `file:${example}`, '--node', 'node-a', '-o', 'json']);
    assert.is(plan.exitCode, 0, String(plan.stderr));
    const json = JSON.parse(String(plan.stdout)) as { version: number; local: { name: string }; peers: Array<{ name: string }> };
    assert.is(json.version, 2);
    assert.is(json.local.name, 'node-a');
    assert.equal(json.peers.map((p) => p.name), ['node-b', 'node-c']);

    // npm links the "man" entry under the prefix: man finds it there.
    assert.ok(existsSync(join(prefix, 'share', 'man', 'man8', 'ovlnet.8')), 'share/man/man8/ovlnet.8');
    const man = await execa('man', ['ovlnet'], { cwd: elsewhere, env: { ...env, MANPATH: join(prefix, 'share', 'man'), MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' }, extendEnv: false, reject: false });
    assert.is(man.exitCode, 0, String(man.stderr));
    assert.match(String(man.stdout).replace(/.\x08/g, ''), /ovlnet\s+-\s+program\s+and\s+reconcile/);

    // What the chunks load from node_modules at run time resolves in the installed package:
    // etcd3 (external) and cli-table3 (required by name, which the bundler cannot see).
    const installedBundle = join(prefix, 'lib', 'node_modules', pkg.name, 'dist', 'bundle', 'main.js');
    for (const lib of ['etcd3', 'cli-table3']) {
      const r = await execa(process.execPath, ['-e', `require('node:module').createRequire(${JSON.stringify(installedBundle)}).resolve(${JSON.stringify(lib)})`], { cwd: elsewhere, reject: false });
      assert.is(r.exitCode, 0, `${lib}: ${String(r.stderr)}`);
    }

    const completion = await run(['completion', 'bash']);
    assert.is(String(completion.stdout), readFileSync(join(prefix, 'lib', 'node_modules', pkg.name, 'completions', 'ovlnet.bash'), 'utf8'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("npm ci sees every dependency install script approved (package.json allowScripts): a newcomer gets no warning", async () => {
  const home = mkdtempSync(join(tmpdir(), 'ovlnet-npm-'));
  try {
    const r = await execa('npm', ['install-scripts', 'ls'], { cwd: ROOT, env: npmEnv(home), extendEnv: false, reject: false });
    assert.is(r.exitCode, 0, String(r.stderr));
    assert.match(String(r.stdout), 'No packages with unreviewed install scripts.');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test.run();
