import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../../../src/sources/file.js';

/** A small deterministic generator (a failure replays from its seed). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const mac = (i: number, salt: number) => `0e:00:00:${(salt & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const node = (i: number, salt = 0) => ({ name: `node-${i}`, publicIP: `192.0.2.${1 + (i % 250)}`, subnet: `198.18.${i}.0/24`, vtepMAC: mac(i, salt) });

/** What a person or a config manager writes next, good or bad; most are one node's change. */
function nextText(nodes: unknown[], rnd: () => number, pretty: boolean): string {
  const k = Math.floor(rnd() * nodes.length);
  const r = rnd();
  if (r < 0.5) nodes[k] = node(k, Math.floor(rnd() * 200));
  else if (r < 0.57) nodes[k] = { ...node(k), extra: 1 }; // an unknown key: refused with its place named
  else if (r < 0.62) {
    let deep: unknown = 1;
    for (let d = 0; d < 31; d++) deep = [deep];
    nodes[k] = { ...node(k), backendData: deep }; // past the depth limit, inside one node
  } else if (r < 0.67) nodes[k] = { ...node(k), subnet: 7 };
  else if (r < 0.72) nodes.push(node(nodes.length));
  else if (r < 0.76 && nodes.length > 2) nodes.pop();
  else if (r < 0.8) nodes[k] = node(k);
  const doc = { network: '198.18.0.0/16', subnetLen: 24, backend: { type: 'vxlan', vni: 1 }, nodes };
  const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
  // Sometimes a broken node: the error must name the same line and column as a whole parse's.
  if (rnd() < 0.08) {
    const at = text.indexOf('"vtepMAC"', Math.floor(rnd() * text.length / 2));
    if (at > 0) return text.slice(0, at) + '"vtepMAC" "x", ' + text.slice(at);
  }
  return text;
}

async function outcome(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return { state: await read() };
  } catch (e) {
    return { error: (e as Error).message, hint: (e as { hint?: string }).hint };
  }
}

test('FileSource: a daemon\'s reads (one node parsed anew when only it changed) equal a fresh read of the same file, states and errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-file-splice-'));
  try {
    const path = join(dir, 'cluster.json');
    for (let seed = 1; seed <= 6; seed++) {
      const rnd = lcg(seed);
      const nodes: unknown[] = Array.from({ length: 5 + seed * 3 }, (_, i) => node(i));
      let kept = 0;
      const write = (text: string) => {
        // A new inode each time (taken at once, no confirming read 1.5 s later):
        // the replaced file is kept linked so that its inode number is not reused.
        try { linkSync(path, `${path}.old${seed}-${kept++}`); } catch { /* the first write */ }
        writeFileSync(`${path}.tmp`, text);
        renameSync(`${path}.tmp`, path);
      };
      write(nextText(nodes, rnd, seed % 2 === 0));
      const source = new FileSource(`file:${path}`);
      for (let step = 0; step < 30; step++) {
        const got = await outcome(() => source.load());
        const want = await outcome(() => new FileSource(`file:${path}`, { once: true }).load());
        assert.equal(got, want, `seed ${seed} step ${step}`);
        write(nextText(nodes, rnd, seed % 2 === 0));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
