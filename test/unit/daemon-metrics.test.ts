// /metrics as Prometheus's own tool sees it: `promtool check metrics` passes
// (test/run.mjs installs Debian's prometheus package for promtool), and every
// series README "Metrics" documents, with every documented label value, is
// there from the start, before any cycle ran.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { ROOT } from '../lib/cli.js';

interface Documented {
  name: string;
  type: string;
  labels: Map<string, string[]>;
}

/** The metrics table (README "Metrics", or wherever docs/ has it): name, type and each label's listed values. */
function documented(): Documented[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f)) : [];
  const readme = [join(ROOT, 'README.md'), ...docs].map((f) => readFileSync(f, 'utf8')).join('\n');
  const rows = readme.split('\n').filter((l) => /^\| `ovlnet_[a-z_]+` \|/.test(l));
  return rows.map((r) => {
    const [, name, type, labels] = r.split('|').map((c) => c.trim());
    // (a table given twice, README and docs/, yields duplicates: harmless)
    const map = new Map<string, string[]>();
    for (const part of labels.split(';')) {
      const m = /`([a-z_]+)`(?::\s*(.*))?/.exec(part.trim());
      if (!m) continue;
      const values = [...(m[2] ?? '').matchAll(/`([^`]+)`/g)].map((v) => v[1]);
      map.set(m[1], /\(/.test(part) ? [] : values);
    }
    return { name: name.replace(/`/g, ''), type, labels: map };
  });
}

/** As the daemon does on start (daemon.ts), before its first cycle. */
function fresh(defaultMetrics = false): DaemonMetrics {
  const m = new DaemonMetrics({ defaultMetrics });
  m.info.set({ version: '0.1.0', source: 'file' }, 1);
  return m;
}

async function promtool(text: string): Promise<{ code: number; out: string }> {
  const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  return { code: r.exitCode ?? -1, out: `${String(r.stdout)}${String(r.stderr)}` };
}

test('README documents the metrics (the table this test reads is there)', () => {
  const d = documented();
  assert.ok(d.length >= 12, `${d.length} documented metrics`);
  assert.equal(d.find((x) => x.name === 'ovlnet_cycles_total')?.labels.get('result'), ['ok', 'failed', 'refused']);
});

test('every documented series, with every documented label value, exists before the first cycle', async () => {
  const text = await fresh().text();
  for (const d of documented()) {
    assert.match(text, new RegExp(`^# TYPE ${d.name} ${d.type}$`, 'm'), `${d.name}: TYPE ${d.type}`);
    const sample = d.type === 'histogram' ? `${d.name}_count` : d.name;
    const lines = text.split('\n').filter((l) => l.startsWith(`${sample}{`) || l.startsWith(`${sample} `));
    assert.ok(lines.length > 0, `${sample} has a sample`);
    for (const [label, values] of d.labels) {
      for (const v of values) assert.ok(lines.some((l) => l.includes(`${label}="${v}"`)), `${sample}{${label}="${v}"} exists from the start`);
    }
  }
});

test('promtool check metrics passes: fresh, with the process metrics, and after cycles', async () => {
  const busy = fresh(true);
  busy.cycles.inc({ result: 'ok' });
  busy.cycleDuration.observe({ result: 'ok' }, 0.042);
  busy.changes.inc({ kind: 'route', action: 'add' }, 3);
  busy.errors.inc({ stage: 'source' });
  busy.peers.set(2);
  busy.lastSuccess.set(Date.now() / 1000);
  for (const [what, m] of [['fresh', fresh()], ['with process metrics, after cycles', busy]] as const) {
    const r = await promtool(await m.text());
    assert.is(r.code, 0, `${what}: ${r.out}`);
    assert.is(r.out.trim(), '', `${what}: no lint findings`);
  }
});

test('the check can fail: promtool refuses a malformed exposition', async () => {
  const r = await promtool('# TYPE ovlnet_x counter\novlnet_x 1\n');
  assert.is.not(r.code, 0, r.out);
});

test.run();
