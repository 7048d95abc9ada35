// The package as an operator gets it: `npm pack`, then a global install of the
// tarball into a temporary prefix with an empty npm cache and --offline, so
// it must be self-contained (its dependencies are bundled; production nodes
// often cannot reach a registry). Then, from another directory: --version,
// plan on the bundled example, the man page through MANPATH, the completions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
    for (const f of ['package.json', 'README.md', 'bin/ovlnet', 'dist/src/cli/main.js', 'dist/bundle/main.js', 'man/ovlnet.8', 'examples/cluster.yaml',
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
    assert.not.ok([...files].some((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests in the tarball');
    assert.ok(info.bundled.includes('commander') && info.bundled.includes('yaml'), 'dependencies are bundled');

    const prefix = join(tmp, 'prefix');
    const installed = await execa('npm', ['install', '-g', '--offline', '--prefix', prefix, '--cache', join(tmp, 'empty-cache'), join(tmp, info.filename)],
      { cwd: tmp, env, extendEnv: false, reject: false });
    assert.is(installed.exitCode, 0, String(installed.stderr));

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
    assert.is(json.version, 1);
    assert.is(json.local.name, 'node-a');
    assert.equal(json.peers.map((p) => p.name), ['node-b', 'node-c']);

    // npm links the "man" entry under the prefix: man finds it there.
    assert.ok(existsSync(join(prefix, 'share', 'man', 'man8', 'ovlnet.8')), 'share/man/man8/ovlnet.8');
    const man = await execa('man', ['ovlnet'], { cwd: elsewhere, env: { ...env, MANPATH: join(prefix, 'share', 'man'), MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' }, extendEnv: false, reject: false });
    assert.is(man.exitCode, 0, String(man.stderr));
    assert.match(String(man.stdout).replace(/.\x08/g, ''), /ovlnet\s+-\s+program\s+and\s+reconcile/);

    const completion = await run(['completion', 'bash']);
    assert.is(String(completion.stdout), readFileSync(join(prefix, 'lib', 'node_modules', pkg.name, 'completions', 'ovlnet.bash'), 'utf8'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
