// When a cluster file change is complete enough to act on (file-settle.ts),
// and the file source's use of it: FIFOs fail at once, a read dropping nodes
// is confirmed by a second read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { debounceStep, needsConfirmation, nodeDelta, nodeKey, nodePrint, summarize, type PrintCache, type DebounceInput, type FileStamp } from '../../../src/sources/file-settle.js';
import { CONFIRM_MS, FileSource } from '../../../src/sources/file.js';
import { SourceError } from '../../../src/errors.js';

const S = (ino: number, size: number, mtimeMs = 1000): FileStamp => ({ dev: 1, ino, size, mtimeMs, ctimeMs: mtimeMs });
const base: DebounceInput = { now: 10_000, stamp: S(7, 100), reported: S(7, 100), changedAt: undefined, burstStartAt: undefined, quietMs: 250, maxWaitMs: 5000 };

const steps: Array<[string, Partial<DebounceInput>, ReturnType<typeof debounceStep>]> = [
  ['unchanged file (an event for another file in the directory)', {}, { kind: 'ignore' }],
  ['in-place write just now: wait for quiet', { stamp: S(7, 40, 9990), changedAt: 9990, burstStartAt: 9990 }, { kind: 'wait', ms: 240 }],
  ['in-place write, quiet long enough', { stamp: S(7, 120, 9700), changedAt: 9750, burstStartAt: 9000 }, { kind: 'fire' }],
  ['in-place writes that never stop: fired after maxWait', { stamp: S(7, 120, 9999), changedAt: 9999, burstStartAt: 5000 }, { kind: 'fire' }],
  ['atomic rename (new inode): at once', { stamp: S(8, 120, 9999), changedAt: 9999, burstStartAt: 9999 }, { kind: 'fire' }],
  ['file gone: at once (the read fails, kernel untouched)', { stamp: undefined, changedAt: 9999, burstStartAt: 9999 }, { kind: 'fire' }],
  ['file appeared: at once', { reported: undefined, changedAt: 9999, burstStartAt: 9999 }, { kind: 'fire' }],
];
for (const [name, over, want] of steps) {
  test(`debounceStep: ${name}`, () => assert.equal(debounceStep({ ...base, ...over }), want));
}

const conf = { origin: 'f', network: '10.0.0.0/8', backend: { type: 'vxlan' } };
const n = (name: string, ip = '192.0.2.1', origin = 'f: nodes[0]') => ({ origin, name, publicIP: ip, subnet: '10.0.1.0/24' });
const confirm: Array<[string, ReturnType<typeof summarize> | undefined, ReturnType<typeof summarize>, boolean]> = [
  ['first read', undefined, summarize(conf, [n('a')]), false],
  ['same nodes, other order', summarize(conf, [n('a', '1', 'f: nodes[0]'), n('b', '2', 'f: nodes[1]')]), summarize(conf, [n('b', '2', 'f: nodes[0]'), n('a', '1', 'f: nodes[1]')]), false],
  ['a node added', summarize(conf, [n('a')]), summarize(conf, [n('a'), n('b')]), false],
  ['a node removed', summarize(conf, [n('a'), n('b')]), summarize(conf, [n('a')]), true],
  ['a node changed (a cut line)', summarize(conf, [n('a', '192.0.2.12')]), summarize(conf, [n('a', '192.0.2.1')]), true],
  ['the config changed', summarize(conf, [n('a')]), summarize({ ...conf, backend: undefined }, [n('a')]), true],
];
for (const [name, prev, next, want] of confirm) {
  test(`needsConfirmation: ${name}`, () => assert.is(needsConfirmation(prev, next), want));
}

const yaml = (names: string[]) => `network: 10.0.0.0/8\nbackend: { type: vxlan }\nnodes:\n${names.map((x, i) => `  - { name: ${x}, publicIP: 192.0.2.${i + 1}, subnet: 10.0.${i}.0/24 }\n`).join('')}`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rejects after ms: a read that would hang fails the test instead of the run. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: still waiting after ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

const notFiles: Array<[string, (p: string) => Promise<unknown>, RegExp]> = [
  ['a FIFO', (p) => execa('mkfifo', [p]), /not a regular file \(a FIFO\)/],
  ['a directory', (p) => execa('mkdir', [p]), /not a regular file \(a directory\)/],
];
for (const [what, make, re] of notFiles) {
  test(`FileSource: ${what} fails at once with a clear message`, async () => {
    await withDir(async (dir) => {
      const p = join(dir, 'cluster.yaml');
      await make(p);
      const err = await within(new FileSource(`file:${p}`).load().then(() => undefined, (e) => e), 5000, 'load of ' + what);
      assert.instance(err, SourceError);
      assert.match((err as Error).message, re);
      assert.match((err as Error).message, /cluster\.yaml/);
    });
  });
}

// `once` (plan, diff, apply) leaves the first read's summary uncomputed: a source read again anyway keeps the guard.
for (const once of [false, true]) {
test(`FileSource${once ? ' (once)' : ''}: a read dropping nodes is taken once a second read agrees; a half-written one is not`, async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'cluster.yaml');
    writeFileSync(p, yaml(['a', 'b', 'c']));
    const src = new FileSource(`file:${p}`, { once });
    assert.is((await src.load()).nodes.length, 3);
    // A truncated file, completed before the confirming read.
    writeFileSync(p, yaml(['a']));
    setTimeout(() => writeFileSync(p, yaml(['a', 'b', 'c', 'd'])), CONFIRM_MS / 3);
    const s = await src.load();
    assert.equal(s.nodes.map((x) => x.name), ['a', 'b', 'c', 'd'], 'the finished file, never the half');
    // A real removal: the same text twice.
    writeFileSync(p, yaml(['a', 'c']));
    assert.equal((await src.load()).nodes.map((x) => x.name), ['a', 'c']);
    // An addition is taken at once.
    writeFileSync(p, yaml(['a', 'c', 'e']));
    assert.equal((await src.load()).nodes.map((x) => x.name), ['a', 'c', 'e']);
  });
});
}

test('FileSource: a file renamed over the old one (whole) is taken at once, removals included; an in-place write is still confirmed', async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'cluster.yaml');
    const replace = (names: string[]) => {
      writeFileSync(join(dir, 'next.yaml'), yaml(names));
      renameSync(join(dir, 'next.yaml'), p);
    };
    replace(['a', 'b', 'c']);
    const src = new FileSource(`file:${p}`);
    assert.is((await src.load()).nodes.length, 3);
    const later = (names: string[]) => new Promise<void>((r) => setTimeout(() => { writeFileSync(p, yaml(names)); r(); }, CONFIRM_MS / 3));
    // Renamed in whole, dropping b and c: an in-place write of the next version lands while a confirming read would wait.
    replace(['a']);
    let next = later(['a', 'b', 'c', 'd']);
    assert.equal((await src.load()).nodes.map((x) => x.name), ['a'], 'the renamed file, at once');
    await next;
    assert.equal((await src.load()).nodes.map((x) => x.name), ['a', 'b', 'c', 'd']);
    // An in-place write (same inode) dropping nodes is confirmed: the finished file, never the half.
    writeFileSync(p, yaml(['a']));
    next = later(['a', 'e']);
    assert.equal((await src.load()).nodes.map((x) => x.name), ['a', 'e']);
    await next;
  });
});

// The daemon's delta from a file: nodes compared by name and content (position included: it is in their messages).
const print = (nodes: Array<ReturnType<typeof n>>, c: Record<string, unknown> = conf, warnings: string[] = []) => nodePrint(nodes, summarize(c, nodes), warnings);
const deltas: Array<[string, ReturnType<typeof print> | undefined, ReturnType<typeof print>, ReturnType<typeof nodeDelta>]> = [
  ['no previous read: no delta', undefined, print([n('a')]), undefined],
  ['nothing changed', print([n('a'), n('b', '2', 'f: nodes[1]')]), print([n('a'), n('b', '2', 'f: nodes[1]')]), { upserts: [], deletes: [] }],
  ['one node changed', print([n('a'), n('b', '2', 'f: nodes[1]')]), print([n('a'), n('b', '3', 'f: nodes[1]')]), { upserts: ['b'], deletes: [] }],
  ['one added, one removed', print([n('a'), n('b', '2', 'f: nodes[1]')]), print([n('a'), n('c', '3', 'f: nodes[1]')]), { upserts: ['c'], deletes: ['b'] }],
  ['a node moved in the file: its origin changed', print([n('a'), n('b', '2', 'f: nodes[1]')]), print([n('b', '2', 'f: nodes[0]'), n('a', '192.0.2.1', 'f: nodes[1]')]), { upserts: ['b', 'a'], deletes: [] }],
  ['the config changed: no delta', print([n('a')]), print([n('a')], { ...conf, network: '10.0.0.0/9' }), undefined],
  ['the warnings changed: no delta', print([n('a')]), print([n('a')], conf, ['f: nodes[1]: not a mapping; skipped']), undefined],
  ['a name listed twice: no delta', print([n('a')]), print([n('a'), n('a', '2', 'f: nodes[1]')]), undefined],
];
for (const [name, prev, next, want] of deltas) {
  test(`nodeDelta: ${name}`, () => assert.equal(nodeDelta(prev, next), want));
}

for (const once of [false, true]) {
test(`FileSource.update${once ? ' (once)' : ''}: the changed nodes of a read, and the whole state of the same read`, async () => {
  await withDir(async (dir) => {
    const p = join(dir, 'cluster.yaml');
    writeFileSync(p, yaml(['a', 'b', 'c']));
    const src = new FileSource(`file:${p}`, { once });
    const first = await src.update();
    assert.is(first.delta, undefined, 'nothing to compare the first read with');
    assert.is((await first.state()).nodes.length, 3);
    writeFileSync(p, yaml(['a', 'b', 'c', 'd']));
    const u = await src.update();
    assert.equal(u.delta?.upserts.map((x) => x.name), ['d']);
    assert.equal(u.delta?.deletes, []);
    assert.is((await u.state()).nodes.length, 4);
    // A half-written file is still confirmed before its removals are believed.
    writeFileSync(p, yaml(['a']));
    setTimeout(() => writeFileSync(p, yaml(['a', 'b', 'c', 'd'])), CONFIRM_MS / 3);
    assert.equal(await src.update().then((x) => x.delta), { upserts: [], deletes: [] }, 'the finished file, never the half');
  });
});
}

// The cache holds an entry per node of the file for as long as the node is unchanged: made with
// both fields, it needs no property array of its own when nodePrint fills the print in.
test('nodeKey: a cache entry is made with its print field in place', () => {
  const cache: PrintCache = new WeakMap();
  const n = { name: 'a', subnet: '198.18.0.4/30', origin: 'f: nodes[0]' };
  nodeKey(n, cache);
  assert.equal(Object.keys(cache.get(n)!), ['key', 'print']);
  assert.is(cache.get(n)!.print, undefined);
});

test.run();
