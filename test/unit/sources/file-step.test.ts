// A daemon's file source decides a read that differs from the last accepted
// one in a few nodes from those nodes alone (file-step.ts): the
// half-written-file guard (whether a read must be confirmed), the delta and
// the state must be exactly those of the whole computation. Checked on
// random sequences of edits (values, renames, duplicates, nameless nodes,
// removals, additions, non-mapping entries, config changes, unknown keys,
// too deep values, truncated and broken files), written whole (renamed
// over) or in place (then completed while the confirming read waits),
// against a source that computes everything from scratch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../../../src/sources/file.js';
import { needsConfirmation, nodeDelta, nodePrint, summarize, type PrintCache } from '../../../src/sources/file-settle.js';
import { applyStep, stepFrom, stepNeedsConfirmation, type Accepted } from '../../../src/sources/file-step.js';
import type { ClusterState, RawNode } from '../../../src/model/types.js';

// --- The pure step against summarize / needsConfirmation / nodePrint / nodeDelta.

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const IPS = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
const MACS = ['0e:00:00:00:00:01', '0e:00:00:00:00:02', '0e:00:00:00:00:03'];

const rawNode = (i: number, name: string | undefined, ip: number, mac: number): RawNode =>
  ({ origin: `f: nodes[${i}]`, name, publicIP: IPS[ip], subnet: '198.18.1.0/24', vtepMAC: MACS[mac] });
const arbNode = fc.record({ name: fc.option(fc.constantFrom(...NAMES), { freq: 8, nil: undefined }), ip: fc.nat(2), mac: fc.nat(2) });
const config = (net: number) => ({ origin: 'f', network: `198.18.0.0/${15 + net}`, backend: { type: 'vxlan' } });
const stateOf = (nodes: Array<{ name?: string; ip: number; mac: number }>, net: number, warnings: string[] = []): ClusterState =>
  ({ config: config(net), nodes: nodes.map((n, i) => rawNode(i, n.name, n.ip, n.mac)), warnings, namedNodes: true }) as ClusterState;

test('stepFrom / stepNeedsConfirmation / applyStep equal needsConfirmation and nodeDelta of whole summaries and prints', () => {
  fc.assert(fc.property(
    fc.array(arbNode, { minLength: 1, maxLength: 8 }),
    fc.array(fc.tuple(fc.nat(7), arbNode), { maxLength: 4 }),
    fc.nat(1), fc.boolean(),
    (nodes, edits, net, warn) => {
      const prev = stateOf(nodes, 0);
      const nextNodes = nodes.slice();
      for (const [at, n] of edits) if (at < nextNodes.length) nextNodes[at] = n;
      const next = stateOf(nextNodes, net, warn ? ['f: nodes[9]: not a mapping; skipped'] : []);
      // Unchanged places keep their node objects, as the file source's memo and splice do.
      next.nodes = next.nodes.map((n, i) => (nextNodes[i] === nodes[i] ? prev.nodes[i] : n));
      const cache: PrintCache = new WeakMap();
      const prevSummary = summarize(prev.config, prev.nodes as unknown as Array<Record<string, unknown>>, cache);
      const prevPrint = nodePrint(prev.nodes, prevSummary, prev.warnings, cache);
      const acc: Accepted = { summary: prevSummary, printed: prevPrint, nodes: prev.nodes.slice(), warnings: prev.warnings };
      const nextSummary = summarize(next.config, next.nodes as unknown as Array<Record<string, unknown>>);
      const nextPrint = nodePrint(next.nodes, nextSummary, next.warnings);
      const step = stepFrom(acc, next, undefined, cache);
      if (!step) {
        // Only what a step cannot say is left to the whole computation.
        const renamed = next.nodes.some((n, i) => n.name !== prev.nodes[i].name);
        assert.ok(!prevPrint.byName || renamed || net !== 0 || warn, 'a step was refused for a read that is one');
        return;
      }
      assert.is(stepNeedsConfirmation(acc, step), needsConfirmation(prevSummary, nextSummary), 'needsConfirmation');
      const want = nodeDelta(prevPrint, nextPrint);
      const got = applyStep(acc, step, next, cache);
      assert.equal({ upserts: got.upserts.map((n) => n.name), deletes: got.deletes }, want, 'delta');
      assert.equal(acc.summary, nextSummary, 'the accepted summary, changed in place');
      assert.equal(acc.printed, nextPrint, 'the accepted print, changed in place');
      assert.equal(acc.nodes, next.nodes);
    },
  ), { numRuns: 2000 });
});

// --- The file source, stepped and whole, on random edit sequences.

type NodeDoc = { name?: string; publicIP: string; subnet: string; vtepMAC: string } | 7;
interface Model { net: number; nodes: NodeDoc[] }

type Op =
  | { op: 'set'; at: number; ip: number; mac: number }
  | { op: 'rename'; at: number; name: number } // name NAMES.length: nameless
  | { op: 'add'; at: number; name: number }
  | { op: 'remove'; at: number }
  | { op: 'copy'; from: number; to: number }
  | { op: 'scalar'; at: number }
  | { op: 'config'; net: number };
/** What one write puts in the file: the model after its ops, with a flaw of this write only. */
interface Write { ops: Op[]; flaw: 'none' | 'badKey' | 'deep' | 'cut' | 'garbage'; at: number; cut: number }

const subnetOf = (i: number) => `198.18.${i}.0/24`;
const fresh = (name: number, i: number): NodeDoc => ({ ...(name < NAMES.length ? { name: NAMES[name] } : {}), publicIP: IPS[i % 3], subnet: subnetOf(i), vtepMAC: MACS[i % 3] });

function applyOp(m: Model, o: Op): void {
  const k = m.nodes.length;
  switch (o.op) {
    case 'set': {
      if (!k) return;
      const n = m.nodes[o.at % k];
      m.nodes[o.at % k] = n === 7 ? fresh(o.ip, o.at) : { ...n, publicIP: IPS[o.ip], vtepMAC: MACS[o.mac] };
      return;
    }
    case 'rename': {
      if (!k) return;
      const n = m.nodes[o.at % k];
      if (n === 7) return;
      const { name: _n, ...rest } = n;
      m.nodes[o.at % k] = o.name < NAMES.length ? { name: NAMES[o.name], ...rest } : rest;
      return;
    }
    case 'add': m.nodes.splice(o.at % (k + 1), 0, fresh(o.name, k)); return;
    case 'remove': if (k) m.nodes.splice(o.at % k, 1); return;
    case 'copy': if (k) m.nodes[o.to % k] = m.nodes[o.from % k]; return;
    case 'scalar': if (k) m.nodes[o.at % k] = 7; return;
    case 'config': m.net = o.net; return;
  }
}

type Format = 'json' | 'json-pretty' | 'yaml-flow' | 'yaml-block';

function render(m: Model, fmt: Format, w: Write, filler: readonly NodeDoc[]): string {
  const nodes: unknown[] = [...m.nodes, ...filler];
  if ((w.flaw === 'badKey' || w.flaw === 'deep') && nodes.length) {
    const i = w.at % nodes.length;
    let deep: unknown = 1;
    for (let d = 0; d < 31; d++) deep = [deep];
    nodes[i] = { ...(nodes[i] === 7 ? {} : nodes[i] as object), ...(w.flaw === 'badKey' ? { subnett: 'x' } : { backendData: deep }) };
  }
  const doc = { network: `198.18.0.0/${15 + m.net}`, subnetLen: 24, backend: { type: 'vxlan' }, nodes };
  let text: string;
  if (fmt === 'json') text = JSON.stringify(doc);
  else if (fmt === 'json-pretty') text = JSON.stringify(doc, null, 2);
  else {
    const flow = (v: unknown): string => JSON.stringify(v);
    const item = (n: unknown) => (typeof n !== 'object' || n === null ? ` ${flow(n)}`
      : fmt === 'yaml-flow' ? ` ${flow(n)}`
        : Object.entries(n).map(([key, v], j) => `${j ? '    ' : ' '}${key}: ${flow(v)}`).join('\n'));
    text = `network: ${doc.network}\nsubnetLen: 24\nbackend: { type: vxlan }\nnodes:${nodes.length ? '' : ' []'}\n${nodes.map((n) => `  -${item(n)}\n`).join('')}`;
  }
  // A file caught half written (an in-place rewrite), or a broken one.
  if (w.flaw === 'cut') text = text.slice(0, Math.floor(text.length * w.cut));
  if (w.flaw === 'garbage') text = `${text.slice(0, Math.floor(text.length * w.cut))}}: [${text.slice(Math.floor(text.length * w.cut))}`;
  return text;
}

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(20), ip: fc.nat(2), mac: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), at: fc.nat(20), name: fc.nat(NAMES.length) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(20), name: fc.nat(NAMES.length) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), at: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), from: fc.nat(20), to: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('scalar' as const), at: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('config' as const), net: fc.nat(1) }) },
);
const arbWrite: fc.Arbitrary<Write> = fc.record({
  ops: fc.array(arbOp, { maxLength: 2 }),
  flaw: fc.constantFrom<Write['flaw']>('none', 'none', 'none', 'none', 'none', 'none', 'badKey', 'deep', 'cut', 'garbage'),
  at: fc.nat(20),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
});
/** One update of the daemon: the file written (renamed over or in place), then written again at each confirming read's wait. */
const arbStep = fc.record({ renamed: fc.boolean(), writes: fc.array(arbWrite, { minLength: 1, maxLength: 6 }) });
type Step = { renamed: boolean; writes: Write[] };
/** A known sequence of single-node value changes (each one read as a step), run before the random ones. */
const SET_STEPS: Step[] = [[1, 1], [2, 0], [0, 2]].map(([ip, mac], i) => ({
  renamed: i % 2 === 0,
  writes: [{ ops: [{ op: 'set', at: i, ip, mac }], flaw: 'none', at: 0, cut: 1 }],
}));

/** A daemon's file source whose confirming reads wait for the test's next write instead of 1.5 s. */
class Scripted extends FileSource {
  onPause: () => void = () => {};
  pauses = 0;
  protected override pause(): Promise<void> {
    this.pauses++;
    this.onPause();
    return Promise.resolve();
  }
}
/** The same, with every read's guard, prints and delta computed whole (as before file-step.ts). */
class Whole extends Scripted {
  protected override readonly stepping: boolean = false;
}

async function outcome(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await read() };
  } catch (e) {
    return { error: (e as Error).message, hint: (e as { hint?: string }).hint };
  }
}

async function updateOf(src: Scripted, texts: string[], path: string): Promise<unknown> {
  let next = 1;
  src.pauses = 0;
  src.onPause = () => { if (next < texts.length) writeFileSync(path, texts[next++]); };
  const got = await outcome(async () => {
    const u = await src.update();
    return { delta: u.delta, state: await u.state() };
  });
  return { got, pauses: src.pauses };
}

type Inside = { last?: unknown; printed?: unknown; accepted?: unknown };

/** Nodes after the edited ones, to make files larger than the smallest reused read buffer (read-buffers.ts). */
const FILLER: NodeDoc[] = Array.from({ length: 900 }, (_, i) => ({ name: `filler-${i}`, publicIP: '192.0.2.200', subnet: `198.19.${i >> 2}.${(i & 3) * 64}/26`, vtepMAC: MACS[0] }));

for (const [size, formats, runs, filler] of [
  ['small', ['json', 'json-pretty', 'yaml-flow', 'yaml-block'], 150, []],
  ['large (read buffers reused)', ['json', 'json-pretty', 'yaml-flow'], 20, FILLER],
] as Array<[string, Format[], number, NodeDoc[]]>) {
test(`FileSource (${size} files): stepped reads give the whole computation's guard decisions, deltas, states and errors`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-file-step-'));
  let run = 0;
  /** Accepted reads taken as steps (the accepted read changed in place): the property must have exercised them. */
  let stepsTaken = 0;
  try {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom<Format>(...formats),
      fc.array(fc.constantFrom(...NAMES.keys()), { minLength: 0, maxLength: 7 }),
      fc.array(arbStep, { minLength: 1, maxLength: 12 }),
      async (fmt, names, steps) => {
        const path = join(dir, `cluster-${run++}.${fmt.startsWith('json') ? 'json' : 'yaml'}`);
        let kept = 0;
        const renameOver = (text: string) => {
          // The replaced file stays linked, so that its inode number is not reused by the next one.
          try { linkSync(path, `${path}.old${kept++}`); } catch { /* the first write */ }
          writeFileSync(`${path}.tmp`, text);
          renameSync(`${path}.tmp`, path);
        };
        const model: Model = { net: 0, nodes: names.map((n, i) => fresh(n, i)) };
        const none: Write = { ops: [], flaw: 'none', at: 0, cut: 1 };
        renameOver(render(model, fmt, none, filler));
        const stepped = new Scripted(`file:${path}`);
        const whole = new Whole(`file:${path}`);
        assert.equal(await updateOf(stepped, [], path), await updateOf(whole, [], path), 'first read');
        for (const [s, step] of steps.entries()) {
          const texts = step.writes.map((w) => {
            for (const o of w.ops) applyOp(model, o);
            return render(model, fmt, w, filler);
          });
          if (step.renamed) renameOver(texts[0]);
          else writeFileSync(path, texts[0]);
          const accBefore = (stepped as unknown as Inside).accepted;
          const a = await updateOf(stepped, texts, path);
          if (accBefore && (stepped as unknown as Inside).accepted === accBefore && 'ok' in (a as { got: object }).got) stepsTaken++;
          writeFileSync(path, texts[0]); // the same inode: the whole source sees what the stepped one saw
          const b = await updateOf(whole, texts, path);
          assert.equal(a, b, `${fmt} step ${s}`);
          const ia = stepped as unknown as Inside;
          const ib = whole as unknown as Inside;
          assert.equal([ia.last, ia.printed], [ib.last, ib.printed], `${fmt} step ${s}: what the next read is compared with`);
          // And the state is a fresh read's of the same file.
          const r = (b as { got: { ok?: { state: unknown } } }).got.ok;
          if (r) assert.equal(r.state, await new FileSource(`file:${path}`, { once: true }).load(), `${fmt} step ${s}: a fresh read`);
        }
      },
    ), { numRuns: runs, examples: formats.map((fmt) => [fmt, [0, 1, 2], SET_STEPS] as [Format, number[], Step[]]) });
    // The examples take SET_STEPS.length steps per format whatever the random runs do: the
    // short path is exercised in every run of this test, large files included (a count of
    // the random runs' steps alone varied from 2 to 17 in 20 runs).
    assert.ok(stepsTaken >= formats.length * SET_STEPS.length, `only ${stepsTaken} reads were taken as steps`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

}

test.run();
