#!/usr/bin/env node
// `npm run bench`: ovlnet against the kernel's own floor, as root, in
// throw-away network namespaces (never the default one). See
// docs/performance.md for what is measured and the figures.
//
//   node bench/run.mjs [--quick] [--only cli,daemon] [--out bench/results/NAME.json] [scenario options]
//   node bench/run.mjs --help     lists every scenario's options and their --quick values
//
// Each scenario is a module bench/<name>.mjs whose default export is
//   { name, options, run(ctx), report(result, ctx), [validate(opt)], [enabled(opt)], [needsEtcd(opt)] }
// options: parseArgs options, each with `default`, optionally `quick` (its
// value under --quick) and `help`; run() returns the scenario's results
// (saved as results[name] in the JSON file), report() the lines it adds to
// the printed table. To add one: write bench/<name>.mjs, import it below and
// append it to SCENARIOS. They run in that order.
import { readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupAll, installCleanupHandlers, requireTools } from './lib.mjs';
import { ROOT, log } from './ovlnet.mjs';
import startup from './startup.mjs';
import cli from './cli.mjs';
import daemon from './daemon.mjs';
import repair from './repair.mjs';
import writer from './writer.mjs';
import memory from './memory.mjs';
import events from './daemon-cpu.mjs';
import start from './start.mjs';

const SCENARIOS = [startup, cli, daemon, repair, writer, memory, events, start];

// ovlnet's writer locks (src/host/lock.ts) go to a directory of the bench's own, never the host's /run/ovlnet.
if (!process.env.OVLNET_RUN_DIR) {
  const runDir = mkdtempSync(join(tmpdir(), 'ovlnet-bench-run-'));
  process.env.OVLNET_RUN_DIR = runDir;
  process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
}

function options() {
  const base = {
    quick: { type: 'boolean', default: false, help: 'a smoke run in under two minutes (2-core host under load): 1 000 peers, few runs and changes, memory for kube only (the daemon scenario reports file and etcd RSS), per-event CPU for etcd only; each option\'s --quick value is below, the full bench is unchanged' },
    only: { type: 'string', default: SCENARIOS.map((s) => s.name).join(','), help: 'scenarios to run' },
    out: { type: 'string', help: 'where the raw figures go (default bench/results/<time>.json)' },
    help: { type: 'boolean', default: false },
  };
  const all = { ...base };
  for (const s of SCENARIOS) {
    for (const [k, o] of Object.entries(s.options ?? {})) {
      if (all[k]) throw new Error(`bench: option --${k} of scenario ${s.name} is taken`);
      all[k] = o;
    }
  }
  return all;
}

function parse() {
  const all = options();
  const quick = process.argv.includes('--quick');
  const spec = Object.fromEntries(Object.entries(all).map(([k, o]) => [k, {
    type: o.type,
    ...(o.default !== undefined || o.quick !== undefined ? { default: quick && o.quick !== undefined ? o.quick : o.default } : {}),
  }]));
  const { values } = parseArgs({ options: spec });
  if (values.help) {
    const lines = Object.entries(all).map(([k, o]) => `  --${k}${o.type === 'string' ? ' V' : ''}  ${o.help ?? ''}${o.default !== undefined && o.type === 'string' ? ` (default ${o.default || 'none'}${o.quick !== undefined ? `, --quick ${o.quick || 'none'}` : ''})` : ''}`);
    process.stdout.write(`usage: node bench/run.mjs [options]\n${lines.join('\n')}\n`);
    process.exit(0);
  }
  return values;
}

function machine() {
  const cpu = cpus();
  return {
    nproc: cpu.length,
    cpu: cpu[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    iproute2: spawnSync('ip', ['-V'], { encoding: 'utf8' }).stdout.trim(),
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

async function main() {
  const opt = parse();
  const only = new Set(opt.only.split(',').map((s) => s.trim()).filter(Boolean));
  for (const name of only) if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`--only: unknown scenario "${name}" (${SCENARIOS.map((s) => s.name).join(', ')})`);
  const chosen = SCENARIOS.filter((s) => only.has(s.name) && (s.enabled?.(opt) ?? true));
  for (const s of chosen) {
    const why = s.validate?.(opt);
    if (why) {
      log(why);
      process.exit(2);
    }
  }
  requireTools({ etcd: chosen.some((s) => s.needsEtcd?.(opt)) });
  installCleanupHandlers();
  const t0 = Date.now();
  const results = { version: 2, startedAt: new Date().toISOString(), machine: machine(), options: opt };
  log(`machine: ${results.machine.nproc} x ${results.machine.cpu}, kernel ${results.machine.kernel}, node ${results.machine.node}; load ${results.machine.loadavg}${opt.quick ? ' (--quick)' : ''}`);
  const ctx = { opt, results };
  // A failing scenario is reported and the others still run; the bench then exits 1.
  const failed = new Set();
  // Each scenario's wall time: what --quick's sizes are cut by (under two minutes).
  results.scenarioSeconds = {};
  for (const s of chosen) {
    const t = Date.now();
    try {
      results[s.name] = await s.run(ctx);
    } catch (e) {
      failed.add(s.name);
      results[s.name] = { failed: String(e?.stack ?? e) };
      log(`scenario ${s.name} failed: ${e?.stack ?? e}`);
    }
    results.scenarioSeconds[s.name] = Math.round((Date.now() - t) / 100) / 10;
  }
  results.finishedAt = new Date().toISOString();
  results.wallSeconds = (Date.now() - t0) / 1000;
  results.machine.loadavgAfter = readFileSync('/proc/loadavg', 'utf8').trim();
  const text = [
    `${results.startedAt.slice(0, 10)}, ${results.machine.nproc} x ${results.machine.cpu}, node ${results.machine.node}, load ${results.machine.loadavg.split(' ').slice(0, 3).join(' ')} -> ${results.machine.loadavgAfter.split(' ').slice(0, 3).join(' ')}, ${results.wallSeconds.toFixed(0)} s${opt.quick ? ' (--quick)' : ''} (${Object.entries(results.scenarioSeconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`,
    ...chosen.flatMap((s) => ['', ...(failed.has(s.name) ? [`${s.name}: FAILED: ${results[s.name].failed.split('\n')[0]}`] : s.report(results[s.name], ctx))]),
  ].join('\n');
  process.stdout.write('\n' + text + '\n');
  const out = opt.out ?? join(ROOT, 'bench', 'results', `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ ...results, table: text }, null, 2) + '\n');
  log(`\nraw figures: ${out}`);
  if (failed.size) process.exitCode = 1;
}

main().then(() => cleanupAll(), (e) => {
  log(`bench failed: ${e?.stack ?? e}`);
  cleanupAll();
  process.exitCode = 1;
});
