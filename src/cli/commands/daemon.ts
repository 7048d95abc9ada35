// ovlnet daemon: watch the source and keep the host converged. The loop
// lives in src/daemon/; this only turns flags into its options.
import { fstatSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Context, GlobalOptions } from '../context.js';
import { cycleOptions, openFromOptions } from '../load.js';
import { parseDuration } from '../../daemon/duration.js';
import { runDaemon, type DaemonOptions } from '../../daemon/daemon.js';
import { parseRepairLimit } from '../../daemon/drift.js';
import { Logger, type Level, type LogFormat } from '../../daemon/logger.js';
import { parseListenAddr } from '../../daemon/server.js';
import { defaultSubnetFile } from '../../daemon/subnet-env.js';
import { preflightWrite } from '../../host/privilege.js';
import { parseMaxDelete } from '../../reconcile/guard.js';
import { GuardError, UsageError } from '../../errors.js';
import { takeWriterLock, type WriterLock } from '../../host/lock.js';
import { resolveSourceURI, sourceRegisters } from '../../sources/index.js';
import { packageInfo } from '../../package.js';
import { nodeFlagGiven } from '../node-flags.js';

/** A running apply holding the namespace is waited for this long at start. */
const APPLY_WAIT_MS = 10_000;

export interface DaemonFlags extends GlobalOptions {
  interval?: string;
  metricsAddr?: string;
  logFormat?: string;
  logLevel?: string;
  maxDelete?: string;
  maxDeleteWindow?: string;
  force?: boolean;
  subnetFile?: string;
  leaseTtl?: string;
  probeInterval?: string;
  /** --no-set-node-network-unavailable turns it off (commander: true by default). */
  setNodeNetworkUnavailable?: boolean;
  iptablesResync?: string;
  repairLimit?: string;
}

const LEVELS: Level[] = ['debug', 'info', 'warn', 'error'];

/**
 * After each full GC V8 lets the heap grow to this much above what survived
 * before the next one (V8's default: up to 300 %, when the GC is fast next
 * to the program, as in a mostly idle daemon). The daemon's garbage is small
 * and steady (an event cycle plans a few peers); with the default, churn
 * still grew the file daemon at 10 000 peers from 179 to 357 MB RSS with
 * 41-65 MB live (docs/performance.md, "Daemon memory"). Read by V8 at every
 * full GC, so it takes effect when set here, for the daemon only; a
 * --heap-growing-percent on node's command line or in NODE_OPTIONS wins.
 */
export const DAEMON_HEAP_GROWING_PERCENT = 20;

function limitHeapGrowth(): void {
  if (nodeFlagGiven('--heap-growing-percent', process.execArgv, process.env.NODE_OPTIONS)) return;
  setFlagsFromString(`--heap-growing-percent=${DAEMON_HEAP_GROWING_PERCENT}`);
}

/** stderr is connected to the journal (systemd sets JOURNAL_STREAM to its device:inode). */
function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.JOURNAL_STREAM) return false;
  try {
    const st = fstatSync(2);
    return env.JOURNAL_STREAM === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

function version(): string {
  try {
    return packageInfo().version;
  } catch {
    return 'unknown';
  }
}

export default async function daemon(o: DaemonFlags, _ctx: Context): Promise<number> {
  const format = (o.logFormat ?? 'text') as LogFormat;
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format ${o.logFormat}: expected text or json`);
  const level = (o.logLevel ?? 'info') as Level;
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level ${o.logLevel}: expected one of ${LEVELS.join(', ')}`);
  const intervalMs = parseDuration(o.interval ?? '10s', '--interval', { minMs: 100 });
  const leaseTTLSeconds = Math.round(parseDuration(o.leaseTtl ?? '24h', '--lease-ttl', { minMs: 10_000 }) / 1000);
  const maxDelete = parseMaxDelete(o.maxDelete);
  const probe = (o.probeInterval ?? '10s').trim();
  const probeIntervalMs = probe === '0' ? 0 : parseDuration(probe, '--probe-interval', { minMs: 1000 });
  const maxDeleteWindowMs = parseDuration(o.maxDeleteWindow ?? '5m', '--max-delete-window', { minMs: 1000 });
  const metricsAddr = o.metricsAddr ? parseListenAddr(o.metricsAddr) : undefined;
  const iptablesResyncMs = parseResyncSeconds(o.iptablesResync ?? '5');
  const repairLimit = parseRepairLimit(o.repairLimit ?? '5/1m');
  // Fail at start, not on the first change: a daemon that cannot write is useless.
  preflightWrite(o.netns);
  limitHeapGrowth();

  const log = new Logger({ format, level, journal: format === 'text' && stderrIsJournal(), write: (s) => process.stderr.write(s) });
  const options: Omit<DaemonOptions, 'source'> = {
    cycle: cycleOptions(o),
    intervalMs,
    maxDelete,
    maxDeleteWindowMs,
    force: o.force,
    subnetFile: o.subnetFile ?? defaultSubnetFile(o.netns),
    leaseTTLSeconds,
    metricsAddr,
    setNodeNetworkUnavailable: o.setNodeNetworkUnavailable !== false,
    version: version(),
    probeIntervalMs,
    iptablesResyncMs,
    repairLimit,
  };
  const lock = await lockNamespace(o, log);
  try {
    // No decision needs an etcd lease's expiry: not reading them saves a call per lease at start.
    // Opened by the daemon once its kernel monitors are spawned (runDaemon).
    const source = () => openFromOptions(o, { leaseExpiries: false });
    return await runDaemon({ source, registers: sourceRegisters(resolveSourceURI(o.source)), ...options }, { log });
  } finally {
    await lock?.release();
  }
}

/** The namespace's writer lock for the daemon's lifetime; --force runs without it when another writer holds it. */
async function lockNamespace(o: DaemonFlags, log: Logger): Promise<WriterLock | undefined> {
  try {
    return await takeWriterLock({ netns: o.netns, kind: 'daemon', source: resolveSourceURI(o.source), waitMs: APPLY_WAIT_MS });
  } catch (e) {
    if (!(e instanceof GuardError) || !o.force) throw e;
    log.warn(`--force: running although ${e.message.replace(/; nothing was changed$/, '')}`);
    return undefined;
  }
}

/** --iptables-resync: whole seconds as flanneld takes them (0 turns the check off), or a duration (500ms, 1m). */
export function parseResyncSeconds(s: string): number {
  if (/^[0-9]{1,6}$/.test(s)) return Number(s) * 1000;
  return parseDuration(s, '--iptables-resync', { minMs: 100 });
}
