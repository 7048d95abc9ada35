// man/ovlnet.8 against the command line: every command and every option
// commander knows is documented (and nothing it does not know), the option
// groups name the commands that really take them, the sections are all
// there, and the roff is clean. Parsed from the source; one test also
// renders it with groff and man (test/run.mjs installs them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { EXIT_DRIFT, EXIT_ERROR, EXIT_OK, EXIT_STALE_PLAN } from '../../../src/cli/exit.js';
import { ROOT } from '../../lib/cli.js';

const PAGE = join(ROOT, 'man/ovlnet.8');
const roff = readFileSync(PAGE, 'utf8');

/** Roff text to plain text: escapes and font changes out. */
function plain(s: string): string {
  return s
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\&/g, '')
    .replace(/\\e/g, '\\')
    .replace(/\\\(->/g, '->');
}

/** A macro line's arguments, quotes removed, joined as they render (.BR a b -> "ab"). */
function macroText(line: string): string {
  const m = /^\.(\w+)\s*(.*)$/.exec(line);
  if (!m) return plain(line);
  const args = [...m[2].matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]);
  return plain(['B', 'I', 'SM'].includes(m[1]) ? args.join(' ') : args.join(''));
}

interface Section {
  name: string;
  lines: string[];
  subsections: Array<{ name: string; lines: string[] }>;
}

function sections(): Section[] {
  const out: Section[] = [];
  for (const line of roff.split('\n')) {
    if (line.startsWith('.\\"')) continue;
    const sh = /^\.SH\s+"?([^"]+)"?$/.exec(line);
    if (sh) {
      out.push({ name: sh[1], lines: [], subsections: [] });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    const ss = /^\.SS\s+"?([^"]+)"?$/.exec(line);
    if (ss) cur.subsections.push({ name: ss[1], lines: [] });
    cur.lines.push(line);
    cur.subsections[cur.subsections.length - 1]?.lines.push(line);
  }
  return out;
}

/** The tag lines of .TP paragraphs, as plain text. */
function tags(lines: string[]): string[] {
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (/^\.TP\b/.test(l) && lines[i + 1] !== undefined) out.push(macroText(lines[i + 1]));
  });
  return out;
}

const FLAG_RE = /(?:^|[\s,])(--?[A-Za-z][A-Za-z0-9-]*)/g;
const flagsIn = (s: string) => [...s.matchAll(FLAG_RE)].map((m) => m[1]);

const program = buildProgram();
const help = program.createHelp();
const commands: Command[] = help.visibleCommands(program);
const optionsOf = (c: Command): Option[] => help.visibleOptions(c);
const section = (name: string) => {
  const s = sections().find((x) => x.name === name);
  assert.ok(s, `section ${name} is missing`);
  return s!;
};

test('every section a man page needs, in order, and the version is the package version', () => {
  const want = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'SOURCES', 'CLUSTER FILE', 'BACKENDS', 'FILES', 'ENVIRONMENT', 'OUTPUT', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'];
  assert.equal(sections().map((s) => s.name), want);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.ok(new RegExp(`^\\.TH OVLNET 8 "[0-9-]+" "ovlnet ${version.replace(/\./g, '\\.')}"`, 'm').test(roff), `.TH must name ovlnet ${version}`);
  assert.match(macroText(section('NAME').lines[0]), /^ovlnet - /);
});

test('COMMANDS documents exactly the commands commander knows, and SYNOPSIS shows each', () => {
  const documented = tags(section('COMMANDS').lines.filter((l) => !/^\.RS|^\.RE/.test(l)))
    .map((t) => t.split(/\s+/)[0])
    .filter((w) => /^[a-z][a-z-]*$/.test(w));
  const known = commands.map((c) => c.name());
  assert.equal([...documented].sort(), [...known].sort());
  const synopsis = section('SYNOPSIS').lines.map(macroText).join(' ');
  for (const name of known) assert.ok(synopsis.includes(`ovlnet ${name}`), `SYNOPSIS: ovlnet ${name}`);
});

test('OPTIONS documents exactly the options commander knows, each with its short form and value', () => {
  const known = new Map<string, Option>();
  for (const c of [program, ...commands]) for (const o of optionsOf(c)) known.set(o.long!, o);
  const tagLines = tags(section('OPTIONS').lines);
  const documented = new Set(tagLines.flatMap(flagsIn));
  const knownFlags = new Set([...known.values()].flatMap((o) => [o.short, o.long].filter(Boolean) as string[]));
  assert.equal([...documented].sort(), [...knownFlags].sort(), 'options in the man page vs commander');
  for (const o of known.values()) {
    const line = tagLines.find((t) => flagsIn(t).includes(o.long!));
    assert.ok(line, o.long);
    if (o.short) assert.ok(flagsIn(line!).includes(o.short), `${o.long}: short form ${o.short} on the same line`);
    const takesValue = o.required || o.optional;
    const rest = line!.slice(line!.indexOf(o.long!) + o.long!.length).trim();
    assert.is(rest.length > 0, takesValue, `${o.long}: ${takesValue ? 'a value placeholder' : 'no value'} in "${line}"`);
  }
});

test('each option group names exactly the commands that take its options', () => {
  let groups = 0;
  for (const ss of section('OPTIONS').subsections) {
    const m = /\(([a-z, ]+)\)/.exec(ss.name);
    if (!m) continue;
    groups++;
    const named = m[1].split(/,\s*/).sort();
    for (const flag of new Set(tags(ss.lines).flatMap(flagsIn).filter((f) => f.startsWith('--')))) {
      const having = commands.filter((c) => optionsOf(c).some((o) => o.long === flag)).map((c) => c.name()).sort();
      assert.equal(having, named, `${flag} in "${ss.name}"`);
    }
  }
  assert.ok(groups >= 2, 'option groups with a command list');
});

test('choices, sources, backends, environment and exit codes are all documented', () => {
  const text = (name: string) => section(name).lines.map(macroText).join('\n');
  const options = text('OPTIONS');
  for (const c of [program, ...commands]) {
    for (const o of optionsOf(c)) for (const choice of o.argChoices ?? []) assert.ok(options.includes(choice), `${o.long} choice ${choice}`);
  }
  const sourceTags = tags(section('SOURCES').lines);
  for (const scheme of ['file:', 'etcd://', 'etcds://', 'kube:']) assert.ok(sourceTags.some((t) => t.startsWith(scheme)), scheme);
  assert.equal(tags(section('BACKENDS').lines), ['vxlan', 'host-gw', 'udp', 'wireguard']);
  const env = tags(section('ENVIRONMENT').lines).join(' ');
  for (const v of ['OVLNET_SOURCE', 'OVLNET_ETCD_USERNAME', 'OVLNET_ETCD_PASSWORD', 'KUBECONFIG', 'NODE_NAME', 'NO_COLOR', 'FORCE_COLOR', 'WIREGUARD_KEY_FILE', 'WG_QUICK_USERSPACE_IMPLEMENTATION']) {
    assert.ok(env.includes(v), v);
  }
  assert.equal(tags(section('EXIT STATUS').lines), [EXIT_OK, EXIT_ERROR, EXIT_DRIFT, EXIT_STALE_PLAN].map(String));
  const cluster = text('CLUSTER FILE');
  for (const f of ['network', 'subnetLen', 'backend', 'nodes', 'vtepMAC', 'Network', 'SubnetLen', 'Backend', 'VNI', 'Port', 'VtepMAC']) {
    assert.ok(cluster.includes(f), `cluster file field ${f}`);
  }
});

test('roff is clean: known macros only, every dash in an option escaped', () => {
  const MACROS = new Set(['TH', 'SH', 'SS', 'PP', 'TP', 'IP', 'RS', 'RE', 'B', 'I', 'BR', 'BI', 'IB', 'IR', 'RB', 'RI', 'nf', 'fi', 'br', 'nh']);
  roff.split('\n').forEach((line, i) => {
    if (line.startsWith('.\\"')) return;
    const m = /^[.'](\S+)/.exec(line);
    if (m) assert.ok(MACROS.has(m[1]), `line ${i + 1}: unknown macro .${m[1]}`);
    // An unescaped "-" renders as a hyphen (U+2010): a copied option would not work.
    assert.not.match(line, /(^|[\s"([|,])--?[a-z]/, `line ${i + 1}: unescaped option dash: ${line}`);
  });
});

test('renders with groff without warnings, and with man -l', async () => {
  const g = await execa('groff', ['-man', '-Tutf8', '-ww', '-z', PAGE], { reject: false });
  assert.is(g.exitCode, 0, String(g.stderr));
  assert.is(String(g.stderr), '', 'groff warnings');
  const m = await execa('man', ['-l', PAGE], { env: { MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' }, reject: false });
  assert.is(m.exitCode, 0, String(m.stderr));
  const text = String(m.stdout).replace(/.\x08/g, '');
  for (const s of ['NAME', 'SYNOPSIS', 'EXIT STATUS', 'ovlnet plan', '--max-delete', 'file:/etc/ovlnet/cluster.yaml']) assert.ok(text.includes(s), s);
});

test.run();
