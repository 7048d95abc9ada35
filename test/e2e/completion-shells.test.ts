// The completion scripts in real shells: bash by calling the completion
// function as bash does (COMP_WORDS split at ":" and "=", COMP_LINE and
// COMP_POINT set, and once with COMP_WORDS/COMP_CWORD only), fish with
// `complete -C`, zsh by loading it under compinit. --netns and --iface
// complete from a namespace this test makes (and always deletes).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/cli.js';
import { uniqueTag } from '../lib/netns.js';

const BASH = join(ROOT, 'completions/ovlnet.bash');
const FISH = join(ROOT, 'completions/ovlnet.fish');
const ZSH = join(ROOT, 'completions/_ovlnet');
const ENV = { PATH: `${ROOT}bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: tmpdir(), LANG: 'C.UTF-8' };

// ---------------------------------------------------------------- bash

test('the bash script passes shellcheck (test/run.mjs installs it)', async () => {
  const r = await execa('shellcheck', ['-s', 'bash', BASH], { reject: false });
  assert.is(r.exitCode, 0, String(r.stdout) + String(r.stderr));
});

/** COMP_WORDS as bash makes them: split at blanks, and at ":" and "=" (COMP_WORDBREAKS). */
function compWords(line: string): string[] {
  const words: string[] = [];
  // A blank escaped with a backslash stays in its word, as bash keeps it.
  for (const token of line.split(/(?<!\\)\s+/).filter(Boolean)) words.push(...token.split(/([:=]+)/).filter(Boolean));
  if (line === '' || /[\s:=]$/.test(line)) words.push('');
  return words;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function bashComplete(line: string, cwd: string, opts: { withLine?: boolean; wordbreaks?: string } = {}): Promise<string[]> {
  const words = compWords(line);
  const script = [
    `source ${q(BASH)}`,
    opts.wordbreaks !== undefined ? `COMP_WORDBREAKS=${q(opts.wordbreaks)}` : '',
    opts.withLine === false ? 'unset COMP_LINE COMP_POINT' : `COMP_LINE=${q(line)}; COMP_POINT=${line.length}`,
    `COMP_WORDS=(${words.map(q).join(' ')}); COMP_CWORD=${words.length - 1}`,
    '_ovlnet',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = await execa('bash', ['--norc', '--noprofile', '-c', script], { cwd, env: ENV, extendEnv: false, reject: false });
  assert.is(r.exitCode, 0, String(r.stderr));
  return String(r.stdout).split('\n').filter(Boolean).sort();
}

type Case = [line: string, want: string[] | ((got: string[]) => boolean)];

/** Each line's candidates (results[i] for cases[i]) are the ones wanted, or pass the check. */
function expectCompletions(cases: Case[], results: string[][]): void {
  for (const [i, [line, want]] of cases.entries()) {
    const got = results[i];
    if (typeof want === 'function') assert.ok(want(got), `${JSON.stringify(line)} -> ${JSON.stringify(got)}`);
    else assert.equal(got, want, JSON.stringify(line));
  }
}

const ALL_COMMANDS = ['apply', 'cleanup', 'completion', 'config', 'daemon', 'diff', 'doctor', 'help', 'nodes', 'plan', 'systemd-unit'];

test('bash completes commands, options, formats, sources, files, shells, namespaces and devices', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-comp-'));
  const ns = `${uniqueTag()}-c`;
  try {
    writeFileSync(join(dir, 'cluster.yaml'), 'network: 198.18.0.0/16\n');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'net-conf.json'), '{}');
    mkdirSync(join(dir, 'my dir'));
    writeFileSync(join(dir, 'my dir', 'net conf.json'), '{}');
    copyFileSync(join(ROOT, 'examples', 'cluster.yaml'), join(dir, 'nodes.yaml'));
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'ovlc0', 'type', 'bridge']);
    const cases: Case[] = [
      ['ovlnet ', ALL_COMMANDS],
      ['ovlnet d', ['daemon', 'diff', 'doctor']],
      ['ovlnet -', ['--config', '--debug', '--help', '--netns', '--no-color', '--show-config', '--source', '--version']],
      ['ovlnet -n x d', ['daemon', 'diff', 'doctor']],
      ['ovlnet -n x diff --no-', ['--no-color', '--no-iptables-forward-rules']],
      ['ovlnet plan --', (g) => ['--source', '--netns', '--iface', '--output', '--node', '--no-color'].every((x) => g.includes(x)) && !g.includes('--dry-run') && !g.includes('--interval')],
      ['ovlnet nodes --', (g) => g.includes('--output') && !g.includes('--netns') && !g.includes('--node')],
      ['ovlnet apply --d', ['--debug', '--disable-tx-offload', '--dry-run']],
      ['ovlnet daemon --log', ['--log-format', '--log-level']],
      ['ovlnet plan -o ', ['commands', 'json', 'table']],
      ['ovlnet diff -o ', ['json', 'table']],
      ['ovlnet diff --output=j', ['json']],
      ['ovlnet daemon --log-level ', ['debug', 'error', 'info', 'warn']],
      ['ovlnet plan --source ', ['etcd://', 'etcds://', 'file:', 'kube:']],
      ['ovlnet apply -s e', ['etcd://', 'etcds://']],
      // Bash replaces only the text after the ":" or "=": candidates come without it.
      ['ovlnet plan --source file:', ['cluster.yaml', 'my\\ dir/', 'nodes.yaml', 'sub/']],
      ['ovlnet plan --source file:cl', ['cluster.yaml']],
      ['ovlnet plan --source file:sub/', ['sub/net-conf.json']],
      ['ovlnet plan --source=file:cl', ['cluster.yaml']],
      ['ovlnet nodes -s kube:s', ['sub/']],
      ['ovlnet plan --net-conf sub/', ['sub/net-conf.json']],
      ['ovlnet completion ', ['bash', 'fish', 'zsh']],
      ['ovlnet completion z', ['zsh']],
      ['ovlnet completion bash ', []],
      ['ovlnet help ', ['apply', 'cleanup', 'completion', 'config', 'daemon', 'diff', 'doctor', 'nodes', 'plan', 'systemd-unit']],
      ['ovlnet config d', ['daemon', 'diff', 'doctor']],
      // After "config COMMAND", the options are that command's own (not config's).
      ['ovlnet config daemon --log', ['--log-format', '--log-level']],
      ['ovlnet config -o json diff --ip-m', ['--ip-masq', '--ip-masq-fully-random-disable']],
      ['ovlnet config daemon --log-level ', ['debug', 'error', 'info', 'warn']],
      ['ovlnet config --', (g) => g.includes('--output') && !g.includes('--log-level')],
      // apply's plan-file: file names.
      ['ovlnet apply my', ['my dir']],
      // An option already on the line is not offered again, in either spelling.
      ['ovlnet plan --source file:x --so', []],
      ['ovlnet plan -s file:x --so', []],
      ['ovlnet plan --node x', []],
      [`ovlnet plan --netns ${ns.slice(0, -1)}`, [ns]],
      [`ovlnet plan --netns ${ns} --iface `, ['lo', 'ovlc0']],
      [`ovlnet diff --netns=${ns} --iface ov`, ['ovlc0']],
      ['ovlnet plan --iface lo', (g) => g.includes('lo')],
      // File names with blanks stay whole; bash quotes plain names (-o filenames), names after file: come quoted.
      ['ovlnet plan --net-conf my', ['my dir']],
      ['ovlnet plan --net-conf my\\ dir/', ['my dir/net conf.json']],
      ['ovlnet plan --source file:my', ['my\\ dir/']],
      ['ovlnet plan --source file:my\\ dir/n', ['my\\ dir/net\\ conf.json']],
      // --node: the node names of a file source on the line.
      ['ovlnet plan --source file:nodes.yaml --node node-', ['node-a', 'node-b', 'node-c']],
      ['ovlnet diff -s file:nodes.yaml --node node-b', ['node-b']],
      ['ovlnet diff --source=file:nodes.yaml --node ', ['node-a', 'node-b', 'node-c']],
      ['ovlnet diff --source etcd://192.0.2.1:2379 --node ', []],
    ];
    // Independent: run them side by side.
    const results = await Promise.all(cases.map(([line]) => bashComplete(line, dir)));
    expectCompletions(cases, results);
    // Without ":" in COMP_WORDBREAKS (some users remove it), the whole word is completed.
    assert.equal(await bashComplete('ovlnet plan --source file:cl', dir, { wordbreaks: ' \t\n"\'><=;|&(' }), ['file:cluster.yaml']);
    // Only COMP_WORDS and COMP_CWORD set (no COMP_LINE): still completes.
    assert.equal(await bashComplete('ovlnet plan -o j', dir, { withLine: false }), ['json']);
    assert.equal(await bashComplete('ovlnet ap', dir, { withLine: false }), ['apply']);
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- fish, zsh

async function fishComplete(line: string, cwd: string): Promise<string[]> {
  const r = await execa('fish', ['--no-config', '-c', `source ${q(FISH)}; complete -C${q(line)}`], { cwd, env: ENV, extendEnv: false, reject: false });
  assert.is(r.exitCode, 0, String(r.stderr));
  return String(r.stdout).split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort();
}

test('fish completes commands, options, formats, sources and shells', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-comp-'));
  try {
    writeFileSync(join(dir, 'cluster.yaml'), 'network: 198.18.0.0/16\n');
    const cases: Case[] = [
      ['ovlnet ', (g) => ['plan', 'diff', 'apply', 'nodes', 'daemon', 'completion'].every((x) => g.includes(x))],
      ['ovlnet plan --n', (g) => ['--net-conf', '--netns', '--no-color', '--node'].every((x) => g.includes(x)) && !g.includes('--interval')],
      ['ovlnet plan -o ', ['commands', 'json', 'table']],
      ['ovlnet diff --output=', ['--output=json', '--output=table']],
      ['ovlnet plan --source ', ['etcd://', 'etcds://', 'file:', 'kube:']],
      ['ovlnet plan --source file:cl', ['file:cluster.yaml']],
      ['ovlnet completion ', ['bash', 'fish', 'zsh']],
      ['ovlnet daemon --log-format ', ['json', 'text']],
      ['ovlnet config daemon --log', ['--log-format', '--log-level']],
    ];
    const results = await Promise.all(cases.map(([line]) => fishComplete(line, dir)));
    expectCompletions(cases, results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** What zsh offers for `line` + TAB, from the real completion system (test/lib/zsh-complete.zsh). */
async function zshComplete(line: string, cwd: string, dump: string): Promise<string[]> {
  const r = await execa('zsh', ['-f', join(ROOT, 'test/lib/zsh-complete.zsh'), line, ZSH, dump], { cwd, env: ENV, extendEnv: false, reject: false, timeout: 30_000 });
  assert.is(r.exitCode, 0, `${JSON.stringify(line)}: ${String(r.stderr)}`);
  // zsh reports its own errors (e.g. a bad _arguments spec) on the terminal, among the candidates.
  assert.not.match(String(r.stdout), /_arguments|invalid argument|command not found/, String(r.stdout));
  return String(r.stdout).split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

test('zsh completes commands, global options, command options, formats, sources and config COMMAND', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-comp-'));
  try {
    writeFileSync(join(dir, 'cluster.yaml'), 'network: 198.18.0.0/16\n');
    const cases: Case[] = [
      ['ovlnet ', ALL_COMMANDS],
      ['ovlnet d', ['daemon', 'diff', 'doctor']],
      // Global options before the command take their value, and the command still completes.
      ['ovlnet -n x d', ['daemon', 'diff', 'doctor']],
      ['ovlnet --source file:x pl', ['plan']],
      ['ovlnet plan -o ', ['commands', 'json', 'table']],
      ['ovlnet daemon --log', ['--log-format', '--log-level']],
      ['ovlnet daemon --log-level ', ['debug', 'error', 'info', 'warn']],
      ['ovlnet plan --source ', ['etcd://', 'etcds://', 'file:', 'kube:']],
      ['ovlnet plan --source file:cl', ['file:cluster.yaml']],
      ['ovlnet completion ', ['bash', 'fish', 'zsh']],
      ['ovlnet config d', ['daemon', 'diff', 'doctor']],
      // After "config COMMAND", the options are that command's own (not config's).
      ['ovlnet config daemon --log', ['--log-format', '--log-level']],
      ['ovlnet config daemon --log-level ', ['debug', 'error', 'info', 'warn']],
      ['ovlnet config systemd-unit --ex', ['--exec']],
      ['ovlnet config --', (g) => g.includes('--output') && !g.includes('--log-level')],
    ];
    // One zsh under a pty each: run them a few at a time.
    const results: string[][] = [];
    for (let i = 0; i < cases.length; i += 4) {
      results.push(...(await Promise.all(cases.slice(i, i + 4).map(([line], j) => zshComplete(line, dir, join(dir, `zcompdump-${i + j}`))))));
    }
    expectCompletions(cases, results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('zsh: the script parses and defines the completion under compinit', async () => {
  const syntax = await execa('zsh', ['-n', ZSH], { reject: false });
  assert.is(syntax.exitCode, 0, String(syntax.stderr));
  const load = await execa('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -d ${q(join(tmpdir(), `zcomp-${process.pid}`))} && source ${q(ZSH)} && print -r -- $_comps[ovlnet]`], { env: ENV, extendEnv: false, reject: false });
  rmSync(join(tmpdir(), `zcomp-${process.pid}`), { force: true });
  assert.is(load.exitCode, 0, String(load.stderr));
  assert.is(String(load.stdout).trim(), '_ovlnet');
});

test.run();
