// The CLI against the kernel's floor: for each size (number of vxlan peers),
// whole-command wall time, CPU and peak RSS of cold apply, no-op apply, diff,
// one changed peer and plan, from a JSON and from a YAML cluster file; and the
// floor: `ip -batch` + `bridge -batch` of the very lines `ovlnet plan -o
// commands` prints. Runs of ovlnet and of the floor are interleaved so that a
// noisy neighbour hits both alike.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterDoc, clusterYAML, createNamespace, deleteNamespace, tempDir, timed } from './lib.mjs';
import { common, fmtMs, fmtX, log, must, ovlnet, sample, summaryOf } from './ovlnet.mjs';

const FORMATS = ['json', 'yaml'];

/** The cluster (a) and the same with one peer's VTEP MAC changed (b), in each format. */
function files(dir, peers) {
  mkdirSync(dir, { recursive: true });
  const docs = { a: clusterDoc(peers), b: clusterDoc(peers, new Map([[Math.ceil(peers / 2), 1]])) };
  const out = {};
  for (const [v, doc] of Object.entries(docs)) {
    out[v] = {};
    for (const fmt of FORMATS) {
      const path = join(dir, `cluster-${v}.${fmt}`);
      writeFileSync(path, fmt === 'json' ? JSON.stringify(doc) : clusterYAML(doc));
      out[v][fmt] = path;
    }
  }
  return out;
}

async function planCommandLines(file, peers) {
  const ns = createNamespace();
  try {
    const r = must(await ovlnet(['plan', ...common(file, ns), '-o', 'commands'], { keepAll: true }), 'plan -o commands');
    const lines = r.stdout.trim().split('\n');
    const ip = lines.filter((l) => l.startsWith('ip ')).map((l) => l.slice(3));
    const bridge = lines.filter((l) => l.startsWith('bridge ')).map((l) => l.slice(7));
    // A device setting (e.g. sysctl accept_ra): one line per device, run as it is by the floor too.
    const other = lines.filter((l) => !l.startsWith('ip ') && !l.startsWith('bridge '));
    // link add + link up + address, then a neighbour and a route per peer; an fdb entry per peer.
    if (ip.length !== 3 + 2 * peers || bridge.length !== peers || other.length > 2) {
      throw new Error(`plan -o commands: unexpected lines (${ip.length} ip, ${bridge.length} bridge for ${peers} peers)`);
    }
    return { lines, ip, bridge, other };
  } finally {
    deleteNamespace(ns);
  }
}

/** The floor: the same entries, written by one ip and one bridge process. */
async function floorRun(cmds, file, verify) {
  const ns = createNamespace();
  try {
    const a = must(await timed('ip', ['-n', ns, '-force', '-batch', '-'], { input: cmds.ip.join('\n') + '\n' }), 'floor: ip -batch');
    const b = must(await timed('bridge', ['-n', ns, '-force', '-batch', '-'], { input: cmds.bridge.join('\n') + '\n' }), 'floor: bridge -batch');
    for (const line of cmds.other) {
      const [tool, ...rest] = line.split(' ');
      const o = must(await timed('ip', ['netns', 'exec', ns, tool, ...rest]), `floor: ${line}`);
      a.ms += o.ms;
    }
    if (verify) {
      // The floor must have written exactly what ovlnet wants, or the ratio is meaningless.
      must(await ovlnet(['diff', ...common(file, ns)]), 'diff after the floor (the floor does not match the plan)');
    }
    return { ms: a.ms + b.ms, rssKB: Math.max(a.rssKB, b.rssKB), cpuMs: a.cpuMs + b.cpuMs };
  } finally {
    deleteNamespace(ns);
  }
}

async function coldRun(file, peers, cmds) {
  const ns = createNamespace();
  // The device and its address, a neighbour, fdb entry and route per peer, and the device settings (sysctl).
  const entries = 3 * peers + 2 + cmds.other.length;
  try {
    const r = must(await ovlnet(['apply', ...common(file, ns)]), 'cold apply', (x) => summaryOf(x.stdout)?.add === entries);
    return { ms: r.ms, rssKB: r.rssKB, cpuMs: r.cpuMs };
  } finally {
    deleteNamespace(ns);
  }
}

const isNoop = (x) => {
  const s = summaryOf(x.stdout);
  return s && s.add + s.change + s.remove === 0;
};

/** Result keys: the JSON measurement under its old name, YAML beside it with a "Yaml" suffix. */
const key = (what, fmt) => (fmt === 'json' ? what : `${what}Yaml`);

async function benchSize(peers, runs, formats) {
  log(`\n== ${peers} peers`);
  const f = files(join(tempDir(), `p${peers}`), peers);
  const cmds = await planCommandLines(f.a.json, peers);
  const m = { floor: [] };
  const push = (k, r) => (m[k] ??= []).push(r);
  for (let r = 0; r < runs; r++) {
    m.floor.push(await floorRun(cmds, f.a.json, r === 0));
    for (const fmt of formats) push(key('coldApply', fmt), await coldRun(f.a[fmt], peers, cmds));
    log(`  run ${r + 1}/${runs}: floor ${m.floor[r].ms.toFixed(0)} ms, cold apply ${formats.map((fmt) => `${fmt} ${m[key('coldApply', fmt)][r].ms.toFixed(0)} ms`).join(', ')}`);
  }

  // A converged namespace for the steady-state commands.
  const ns = createNamespace();
  try {
    must(await ovlnet(['apply', ...common(f.a.json, ns)]), 'converging apply');
    let v = 'a';
    for (let r = 0; r < runs; r++) {
      for (const fmt of formats) {
        push(key('noopApply', fmt), must(await ovlnet(['apply', ...common(f[v][fmt], ns)]), `no-op apply (${fmt})`, isNoop));
        push(key('diff', fmt), must(await ovlnet(['diff', ...common(f[v][fmt], ns)]), `no-op diff (${fmt})`));
      }
      // Alternate between the two clusters: every run is one changed peer.
      v = v === 'a' ? 'b' : 'a';
      push('changedPeer', must(await ovlnet(['apply', ...common(f[v].json, ns)]), 'one changed peer', (x) => {
        const s = summaryOf(x.stdout);
        return s && s.add + s.change + s.remove > 0 && s.add + s.change + s.remove <= 4;
      }));
      for (const fmt of formats) push(key('plan', fmt), must(await ovlnet(['plan', ...common(f[v][fmt], ns)]), `plan (${fmt})`));
    }
  } finally {
    deleteNamespace(ns);
  }
  const out = { peers };
  for (const [k, xs] of Object.entries(m)) out[k] = sample(xs);
  for (const k of Object.keys(out)) if (out[k]?.medianMs !== undefined) out[k].ratioToFloor = out[k].medianMs / out.floor.medianMs;
  log(`  floor ${fmtMs(out.floor.medianMs)} ms; ${formats.map((fmt) => `${fmt}: cold ${fmtMs(out[key('coldApply', fmt)].medianMs)}, no-op ${fmtMs(out[key('noopApply', fmt)].medianMs)}, diff ${fmtMs(out[key('diff', fmt)].medianMs)}, plan ${fmtMs(out[key('plan', fmt)].medianMs)} ms`).join('; ')}`);
  return { out, cmds };
}

/** plan alone, for sizes where the whole round is too long (--quick): on an empty namespace, which costs the same (plan reads links and addresses only). */
async function planOnly(peers, runs, formats) {
  log(`\n== plan only, ${peers} peers`);
  const f = files(join(tempDir(), `plan${peers}`), peers);
  const m = {};
  const ns = createNamespace();
  try {
    for (let r = 0; r < runs; r++) {
      for (const fmt of formats) (m[key('plan', fmt)] ??= []).push(must(await ovlnet(['plan', ...common(f.a[fmt], ns)]), `plan (${fmt})`));
    }
  } finally {
    deleteNamespace(ns);
  }
  const out = { peers, planOnly: true };
  for (const [k, xs] of Object.entries(m)) out[k] = sample(xs);
  log(`  ${formats.map((fmt) => `plan ${fmt} ${fmtMs(out[key('plan', fmt)].medianMs)} ms`).join(', ')}`);
  return out;
}

/** One `ip`/`bridge` process per line, as a naive script would do it. */
async function perCommand(peers, cmds, runs) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const ns = createNamespace();
    try {
      const t0 = process.hrtime.bigint();
      for (const l of cmds.lines) {
        const [tool, ...args] = l.split(' ');
        // ip and bridge take -n; a device setting (sysctl) runs inside the namespace, as the floor runs it.
        const argv = tool === 'ip' || tool === 'bridge' ? [tool, '-n', ns, ...args] : ['ip', 'netns', 'exec', ns, tool, ...args];
        // Plain spawns (no /usr/bin/time around each): the baseline is the process cost itself.
        const code = await new Promise((res, rej) => {
          const c = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
          c.on('error', rej);
          c.on('close', res);
        });
        if (code !== 0) throw new Error(`per-command baseline: "${l}" exited ${code}`);
      }
      samples.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rssKB: NaN, cpuMs: NaN });
    } finally {
      deleteNamespace(ns);
    }
    log(`  per-command run ${r + 1}/${runs}: ${samples[r].ms.toFixed(0)} ms`);
  }
  const s = sample(samples);
  delete s.peakRssMB;
  delete s.medianCpuMs;
  return { peers, processes: cmds.lines.length, ...s };
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

export default {
  name: 'cli',
  options: {
    sizes: { type: 'string', default: '100,1000,5000,10000', quick: '1000', help: 'peer counts for the whole CLI round' },
    runs: { type: 'string', default: '5', quick: '2', help: 'runs of each CLI measurement' },
    formats: { type: 'string', default: 'json,yaml', help: 'cluster file formats' },
    'plan-sizes': { type: 'string', default: '', quick: '', help: 'peer counts for plan alone (beside --sizes)' },
    'per-command-peers': { type: 'string', default: '1000', quick: '0', help: 'one-process-per-command baseline (0: none)' },
  },
  validate(opt) {
    for (const fmt of list(opt.formats)) if (!FORMATS.includes(fmt)) return `--formats: unknown format "${fmt}" (${FORMATS.join(', ')})`;
    return undefined;
  },
  async run({ opt }) {
    const sizes = list(opt.sizes).map(Number).filter((n) => n > 0);
    const runs = Math.max(1, Number(opt.runs));
    const formats = list(opt.formats);
    const res = { sizes: {}, perCommand: undefined };
    const cmdsBySize = new Map();
    for (const p of sizes) {
      const { out, cmds } = await benchSize(p, runs, formats);
      res.sizes[p] = out;
      cmdsBySize.set(p, cmds);
    }
    for (const p of list(opt['plan-sizes']).map(Number).filter((n) => n > 0 && !sizes.includes(n))) {
      res.sizes[p] = await planOnly(p, runs, formats);
    }
    const pc = Number(opt['per-command-peers']);
    if (pc > 0) {
      log(`\n== one process per command, ${pc} peers`);
      const cmds = cmdsBySize.get(pc) ?? await planCommandLines(files(join(tempDir(), `pc${pc}`), pc).a.json, pc);
      // One run: 3 000 process starts take minutes, and the gap to the floor is two orders of magnitude.
      res.perCommand = await perCommand(pc, cmds, 1);
    }
    return res;
  },
  report(res) {
    const rows = [['peers', 'what', 'median ms', 'min..max ms', 'cpu ms', 'peak RSS MB', 'x floor']];
    const names = [['floor', 'floor (ip+bridge -batch)'], ['coldApply', 'cold apply'], ['noopApply', 'no-op apply'], ['diff', 'diff (no-op)'], ['changedPeer', 'one changed peer'], ['plan', 'plan']];
    const sizes = Object.keys(res.sizes).map(Number).sort((a, b) => a - b);
    for (const p of sizes) {
      const s = res.sizes[p];
      for (const [k, label] of names) {
        for (const fmt of FORMATS) {
          const x = s[key(k, fmt)];
          if (!x || (fmt === 'yaml' && k === 'floor')) continue;
          const what = k === 'floor' || k === 'changedPeer' ? label : `${label} (${fmt.toUpperCase()}${s.planOnly ? ', empty host' : ''})`;
          rows.push([String(p), what, fmtMs(x.medianMs), `${fmtMs(x.minMs)}..${fmtMs(x.maxMs)}`, fmtMs(x.medianCpuMs), x.peakRssMB.toFixed(0), k === 'floor' ? '1.00x' : fmtX(x.ratioToFloor)]);
        }
      }
    }
    if (res.perCommand) {
      const c = res.perCommand;
      const f = res.sizes[c.peers]?.floor?.medianMs;
      rows.push([String(c.peers), `one process per command (${c.processes})`, fmtMs(c.medianMs), `${fmtMs(c.minMs)}..${fmtMs(c.maxMs)}`, '', '', f ? fmtX(c.medianMs / f) : '']);
    }
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
    const out = [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)];
    // Linearity: cost per peer at the largest full size against 1 000 peers.
    const full = sizes.filter((p) => !res.sizes[p].planOnly);
    const big = Math.max(...full);
    if (full.includes(1000) && big > 1000) {
      const parts = [];
      for (const k of ['floor', 'coldApply', 'noopApply', 'diff', 'plan']) {
        parts.push(`${k} ${((res.sizes[big][k].medianMs / big) / (res.sizes[1000][k].medianMs / 1000)).toFixed(2)}`);
      }
      out.push(`per-peer cost at ${big} / at 1000 peers (1.00 = linear): ${parts.join(', ')}`);
    }
    out.push(...targets(res));
    return out;
  },
};

/** issue 19's CLI targets, where this run measured them. */
function targets(res) {
  const out = [];
  const at = res.sizes[5000];
  if (at && !at.planOnly) {
    for (const fmt of FORMATS) {
      const check = (k, label, max) => {
        const x = at[key(k, fmt)];
        if (x) out.push(`target ${label} (${fmt.toUpperCase()}, 5000 peers) <= ${max}x floor: ${fmtX(x.ratioToFloor)} ${x.ratioToFloor <= max ? 'met' : 'MISSED'}`);
      };
      check('coldApply', 'cold apply', 1.5);
      check('noopApply', 'no-op apply', 0.5);
      check('diff', 'diff', 0.5);
    }
  }
  const p = res.sizes[10000];
  for (const fmt of FORMATS) {
    const x = p?.[key('plan', fmt)];
    if (x) out.push(`target plan (${fmt.toUpperCase()}, 10000 peers) <= 250 ms: ${fmtMs(x.medianMs)} ms ${x.medianMs <= 250 ? 'met' : 'MISSED'}`);
  }
  return out.length ? ['', ...out] : out;
}
