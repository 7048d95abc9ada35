// README.md and docs/ against each other, the man page and the command line:
// README stays a landing page that links every topic page, every relative link
// (file and #anchor) resolves, every command has its section in
// docs/commands.md, every option commander knows is explained somewhere in
// docs/, and the man page points at every topic page.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { ROOT } from '../../lib/cli.js';

const DOCS = join(ROOT, 'docs');
const pages = readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort();
const read = (p: string) => readFileSync(p, 'utf8');
const markdown = [join(ROOT, 'README.md'), join(ROOT, 'CONTRIBUTING.md'), ...pages.map((p) => join(DOCS, p))];

/** GitHub's heading anchors: lower case, punctuation out, spaces to dashes, repeats numbered. */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!h) continue;
    const base = h[1].toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Markdown links outside code: [text](target). */
function links(text: string): string[] {
  const noCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...noCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

test('README is a landing page: at most 400 lines, the test command, a link to every docs/ page', () => {
  const readme = read(join(ROOT, 'README.md'));
  assert.ok(readme.split('\n').length <= 400, `README.md has ${readme.split('\n').length} lines`);
  assert.match(readme, /npm test/);
  const linked = new Set(links(readme));
  for (const p of pages) assert.ok(linked.has(`docs/${p}`), `README.md does not link docs/${p}`);
});

test('README\'s Quick start names every package the test command installs', () => {
  const runner = read(join(ROOT, 'test', 'run.mjs'));
  const list = runner.slice(runner.indexOf('function ensureTools'), runner.indexOf('const missing'));
  const packages = [...new Set([...list.matchAll(/\['[^']+', '([^']+)'\]/g)].map((m) => m[1]))];
  assert.ok(packages.length >= 10, `packages read from test/run.mjs: ${packages.join(' ')}`);
  const quick = read(join(ROOT, 'README.md')).split('## Quick start')[1].split('\n## ')[0];
  for (const p of packages) assert.ok(quick.includes(`\`${p}\``), `README's Quick start does not name ${p}`);
});

test('every relative link in README, CONTRIBUTING and docs/ names a file and a heading that exist', () => {
  const bad: string[] = [];
  for (const file of markdown) {
    for (const link of links(read(file))) {
      if (/^[a-z]+:/.test(link)) continue;
      const [path, anchor] = link.split('#');
      const target = path ? join(dirname(file), path) : file;
      const where = `${relative(ROOT, file)}: ${link}`;
      if (!existsSync(target)) { bad.push(`${where} (no such file)`); continue; }
      if (anchor && target.endsWith('.md') && !anchors(read(target)).has(anchor)) bad.push(`${where} (no such heading)`);
    }
  }
  assert.equal(bad, []);
});

const program = buildProgram();
const help = program.createHelp();
const commands: Command[] = help.visibleCommands(program);

test('docs/commands.md has a section for every command', () => {
  const heads = anchors(read(join(DOCS, 'commands.md')));
  const missing = commands.map((c) => c.name()).filter((n) => n !== 'help' && !heads.has(n));
  assert.equal(missing, [], 'commands without a "### NAME" section in docs/commands.md');
});

test('every option commander knows is explained somewhere in docs/', () => {
  const text = pages.map((p) => read(join(DOCS, p))).join('\n');
  const longs = new Set<string>();
  for (const c of [program, ...commands]) for (const o of help.visibleOptions(c)) if (o.long) longs.add(o.long);
  const missing = [...longs].filter((l) => !new RegExp(`${l.replace(/-/g, '\\-')}(?![\\w-])`).test(text)).sort();
  assert.equal(missing, [], 'options documented in the man page but nowhere in docs/');
});

test('the man page points at README and every docs/ page', () => {
  const roff = read(join(ROOT, 'man/ovlnet.8')).replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '');
  assert.match(roff, /README/);
  for (const p of pages) assert.ok(roff.includes(`docs/${p}`), `man/ovlnet.8 does not name docs/${p}`);
});

test.run();
