// What every bench scenario shares about running ovlnet itself: the launcher,
// the common source arguments, and checking that a command did what it should.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timed } from './lib.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OVLNET = join(ROOT, 'bin', 'ovlnet');
export const NODE = process.execPath;

export const log = (s) => process.stderr.write(s + '\n');

/** `ovlnet ARGS` under /usr/bin/time: { ms, rssKB, cpuMs, code, stdout, stderr }. */
export function ovlnet(args, extra) {
  return timed(NODE, [OVLNET, ...args], extra);
}

/** Throws with the command's output unless it exited 0 (and passes check, if given). */
export function must(r, what, check) {
  const why = r.code !== 0 ? `exit ${r.code}` : check && !check(r) ? 'unexpected output' : undefined;
  if (why) {
    throw new Error(`${what}: ${why}\nstdout (tail): ${r.stdout.slice(-600)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
  return r;
}

/** apply's last line as counts, or undefined. */
export const summaryOf = (stdout) => {
  const m = /Apply complete: (\d+) added, (\d+) changed, (\d+) removed/.exec(stdout);
  return m ? { add: +m[1], change: +m[2], remove: +m[3] } : undefined;
};

// The FORWARD accept rules (on by default) are left out: the bench measures the
// routing state against ip/bridge, and iptables-restore is a cost of its own.
export const NO_FWD = '--iptables-forward-rules=false';

/** The arguments that point ovlnet at a cluster file, as node-0, inside namespace ns. */
export const common = (file, ns) => ['--source', `file:${file}`, '--node', 'node-0', '--netns', ns, NO_FWD];

/** Median, min, max, peak RSS and median CPU of timed runs. */
export const sample = (xs) => ({
  medianMs: median(xs.map((x) => x.ms)),
  minMs: Math.min(...xs.map((x) => x.ms)),
  maxMs: Math.max(...xs.map((x) => x.ms)),
  peakRssMB: Math.max(...xs.map((x) => x.rssKB)) / 1024,
  medianCpuMs: median(xs.map((x) => x.cpuMs ?? NaN)),
  samplesMs: xs.map((x) => Math.round(x.ms * 100) / 100),
});

export const fmtMs = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const fmtX = (x) => (x === undefined || Number.isNaN(x) ? '' : `${x.toFixed(2)}x`);
