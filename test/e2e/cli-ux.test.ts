// The CLI as a person meets it: on a terminal (a pseudo-terminal made with
// script(1)) and in a pipe. Colour and boxes only on the terminal, a spinner
// only on a terminal and only for a slow source, plain stable output in
// pipes, JSON wherever there is a listing, and errors that say what to do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ovlnet, ROOT } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ipn, withTopology } from '../lib/netns.js';
import { FakeKube, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';

const EXAMPLE = `file:${ROOT}examples/cluster.yaml`;
const ANSI = /\x1b\[[0-9;]*m/;
const BOX = /[┌│└├]/;
// The environment of a person at a terminal: no NO_COLOR/FORCE_COLOR from the test runner.
const BASE_ENV: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), TERM: 'xterm-256color', LANG: 'C.UTF-8' };

/** Runs the CLI on a pseudo-terminal of 120x40 (stdout and stderr both on it). */
async function onTerminal(args: string[], env: Record<string, string> = {}, before = ''): Promise<{ code: number; out: string }> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `stty cols 120 rows 40; ${before}exec ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}`;
  const r = await execa('script', ['-qec', cmd, '/dev/null'], { env: { ...BASE_ENV, ...env }, extendEnv: false, reject: false, input: '' });
  return { code: r.exitCode ?? -1, out: String(r.stdout).replace(/\r/g, '') };
}

async function piped(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [BIN, ...args], { env: { ...BASE_ENV, ...env }, extendEnv: false, reject: false, input: '', stripFinalNewline: false });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

test('ovlnet completion SHELL prints exactly the packaged completion files', async () => {
  const shells = [['bash', 'ovlnet.bash'], ['zsh', '_ovlnet'], ['fish', 'ovlnet.fish']];
  const outputs = await Promise.all(shells.map(([shell]) => piped(['completion', shell])));
  for (const [i, [shell, file]] of shells.entries()) {
    const r = outputs[i];
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, readFileSync(join(ROOT, 'completions', file), 'utf8'), shell);
  }
  const bad = await piped(['completion', 'tcsh']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /^ovlnet: .*tcsh.*bash, zsh, fish/m);
});

test('in a pipe: no colour, no boxes, plain columns, the same bytes every run', async () => {
  for (const args of [['plan', '--source', EXAMPLE, '--node', 'node-a'], ['nodes', '--source', EXAMPLE]]) {
    const [a, b] = await Promise.all([piped(args), piped(args)]);
    assert.is(a.code, 0, a.stderr);
    assert.is(a.stderr, '');
    assert.not.match(a.stdout, ANSI);
    assert.not.match(a.stdout, BOX);
    assert.is(a.stdout, b.stdout, 'stable');
    // awk-able: the header, then one line per row whose second field is the subnet.
    const rows = a.stdout.split('\n').filter((l) => /^node-[abc] /.test(l));
    assert.ok(rows.length >= 2, a.stdout);
    for (const r of rows) assert.match(r.split(/\s+/)[1], /^198\.18\.\d\.0\/24$/);
    assert.not.match(a.stdout, /[ \t]$/m, 'no trailing blanks');
  }
});

test('on a terminal: boxes without row rules, colour unless NO_COLOR or --no-color', async () => {
  const nodes = ['nodes', '--source', EXAMPLE];
  const [plain, noColorEnv, noColorFlag, dumb, ascii, forced] = await Promise.all([
    onTerminal(nodes),
    onTerminal(nodes, { NO_COLOR: '1' }),
    onTerminal([...nodes, '--no-color']),
    onTerminal(nodes, { TERM: 'dumb' }),
    onTerminal(nodes, { LANG: 'C' }),
    piped(nodes, { FORCE_COLOR: '1' }),
  ]);
  assert.is(plain.code, 0, plain.out);
  assert.match(plain.out, BOX);
  assert.match(plain.out, ANSI, 'colour on a terminal');
  const lines = plain.out.split('\n');
  assert.is(lines.filter((l) => l.startsWith('├')).length, 1, 'one rule, under the header');
  assert.not.match(noColorEnv.out, ANSI, 'NO_COLOR');
  assert.not.match(noColorFlag.out, ANSI, '--no-color');
  assert.not.match(dumb.out, ANSI, 'TERM=dumb');
  assert.not.match(ascii.out, BOX);
  assert.match(ascii.out, /^\+-+\+/m, 'ASCII borders outside UTF-8');
  // FORCE_COLOR colours a pipe too.
  assert.match(forced.stdout, ANSI, 'FORCE_COLOR');
});

test('NO_COLOR wins over an empty FORCE_COLOR, and Node never warns about the two', async () => {
  const nodes = ['nodes', '--source', EXAMPLE];
  const [tty, forced, bothPiped] = await Promise.all([
    onTerminal(nodes, { NO_COLOR: '1', FORCE_COLOR: '' }),
    onTerminal(nodes, { NO_COLOR: '1', FORCE_COLOR: '1' }),
    piped([...nodes, '--source', 'file:/nonexistent'], { NO_COLOR: '1', FORCE_COLOR: '' }),
  ]);
  assert.is(tty.code, 0, tty.out);
  assert.not.match(tty.out, ANSI, 'NO_COLOR with FORCE_COLOR=');
  assert.match(forced.out, ANSI, 'FORCE_COLOR=1 still forces');
  for (const out of [tty.out, forced.out, bothPiped.stderr]) assert.not.match(out, /Warning|NO_COLOR|FORCE_COLOR/);
  assert.match(bothPiped.stderr, /^ovlnet: cannot read cluster file/m);
});

test('a cluster file with a misspelt key is refused naming the key, where it is and the closest key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-ux-'));
  try {
    const f = join(dir, 'cluster.yaml');
    writeFileSync(f, readFileSync(join(ROOT, 'examples/cluster.yaml'), 'utf8').replace('publicIP: 192.0.2.11', 'publicIp: 192.0.2.11'));
    const r = await piped(['nodes', '--source', `file:${f}`]);
    assert.is(r.code, 1, r.stdout);
    assert.is(r.stderr.split('\n')[0], `ovlnet: ${f}: nodes[1]: unknown key "publicIp" (did you mean publicIP?)`);
    writeFileSync(f, 'network: 198.18.0.0/16\nbackend: { type: vxlan\nnodes: []\n');
    const y = await piped(['nodes', '--source', `file:${f}`]);
    assert.is(y.code, 1);
    assert.match(y.stderr, new RegExp(`^ovlnet: ${f}:3:\\d+: invalid YAML: .*; line 3: nodes: \\[\\]$`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A slow API server (not a FIFO: a source that is not a regular file fails at once).
test('a slow source shows a spinner on a terminal, never in a pipe', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-ux-'));
  const kube = await FakeKube.start();
  try {
    kube.setConfigMap('kube-flannel', netConfJSON());
    for (let i = 0; i < 3; i++) kube.addNode({ name: `node-${'abc'[i]}`, podCIDR: `198.18.${i}.0/24`, annotations: flannelAnnotations(`192.0.2.${10 + i}`, `0a:58:c6:12:00:0${i}`) });
    // Every answer takes 1.5 s: reading the source takes at least that long.
    kube.delayMs = 1500;
    const src = `kube:${kube.writeKubeconfig(dir)}`;
    const tty = await onTerminal(['nodes', '--source', src]);
    assert.is(tty.code, 0, tty.out);
    assert.match(tty.out, new RegExp(`reading ${src}`), 'spinner text on the terminal');
    assert.match(tty.out, /node-c/);
    const pipe = await piped(['nodes', '--source', src]);
    assert.is(pipe.code, 0, pipe.stderr);
    assert.is(pipe.stderr, '', 'nothing on stderr in a pipe');
    assert.not.match(pipe.stdout, /reading|\x1b/);
    assert.match(pipe.stdout, /node-c/);
  } finally {
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors say what failed and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-ux-'));
  try {
    // Unknown node: the known ones, shortened.
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `n${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24` }));
    const file = join(dir, 'many.yaml');
    writeFileSync(file, clusterYAML(many));
    const unknown = await piped(['plan', '--source', `file:${file}`, '--node', 'nope']);
    assert.is(unknown.code, 1);
    assert.match(unknown.stderr, /^ovlnet: node nope is not in the source; known nodes: n0, n1, n2, n3, n4, n5, n6, n7, … \(4 more\)$/m);
    assert.match(unknown.stderr, /^hint: /m);
    assert.not.match(unknown.stderr, /\n\s+at /, 'no stack trace');
    // A bare path: the hint says how to write it.
    const bare = await piped(['plan', '--source', 'examples/cluster.yaml']);
    assert.match(bare.stderr, /hint: did you mean --source file:examples\/cluster\.yaml\?/);
    // ip missing: which package to install.
    const noip = await execa(process.execPath, [BIN, 'diff', '--source', EXAMPLE, '--node', 'node-a'], { env: { PATH: dir, HOME: dir }, extendEnv: false, reject: false });
    assert.is(noip.exitCode, 1);
    assert.match(String(noip.stderr), /^ovlnet: ip not found in PATH; it comes with the iproute2 package\nhint: .*apt-get install iproute2/m);
    // Bad flag values: commander's messages in ovlnet's form, with a pointer to help.
    const bad = await piped(['plan', '-o', 'xml']);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /^ovlnet: option .*xml.* table, json, commands/m);
    assert.match(bad.stderr, /^hint: see "ovlnet plan --help"/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not root: the error says sudo and repeats the command; JSON everywhere; an MTU repair converges', async () => {
  const specs = defaultNodes(2);
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const [a] = t.nodes;
    chmodSync(t.tmp, 0o755); // readable for the unprivileged run below
    const args = ['--source', src, '--node', a.name, '--netns', a.ns];
    const asNobody = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'apply', ...args],
      { env: { ...BASE_ENV, HOME: t.tmp }, extendEnv: false, reject: false });
    assert.is(asNobody.exitCode, 1);
    assert.match(String(asNobody.stderr), /^ovlnet: .*needs root/m);
    assert.ok(String(asNobody.stderr).includes(`hint: run it as root: sudo ovlnet apply --source ${src} --node ${a.name} --netns ${a.ns}`), String(asNobody.stderr));

    // -o json for every listing, valid and versioned.
    for (const cmd of [['plan'], ['diff'], ['apply', '--dry-run']]) {
      const r = await ovlnet([...cmd, ...args, '-o', 'json']);
      assert.ok(r.code === 0 || r.code === 2, `${cmd[0]}: ${r.stderr}`);
      // plan's document is version 2; diff and apply share the changes document, version 3 (docs/output.md).
      assert.is((JSON.parse(r.stdout) as { version: number }).version, cmd[0] === 'plan' ? 2 : 3, cmd.join(' '));
    }
    const nodes = await ovlnet(['nodes', '--source', src, '-o', 'json']);
    assert.equal((JSON.parse(nodes.stdout) as { nodes: Array<{ name: string }> }).nodes.map((n) => n.name), ['node-a', 'node-b']);

    assert.is((await ovlnet(['apply', ...args])).code, 0);
    // A hand-changed MTU: one apply repairs it without disturbing the neighbours.
    await ipn(a.ns, 'link', 'set', 'flannel.1', 'mtu', '1400');
    const drift = await ovlnet(['diff', ...args]);
    assert.is(drift.code, 2);
    assert.match(drift.stdout, /~ link flannel\.1 .*\(mtu 1400 -> 1450\)/);
    const fix = await ovlnet(['apply', ...args]);
    assert.is(fix.code, 0, fix.stdout + fix.stderr);
    assert.match(fix.stdout, /0 added, 1 changed, 0 removed/);
    assert.is((await ovlnet(['diff', ...args])).code, 0);
  });
});

test.run();
