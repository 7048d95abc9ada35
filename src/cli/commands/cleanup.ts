// ovlnet cleanup: remove what ovlnet put on this host and nothing else.
// The decisions are in reconcile/cleanup.ts; this file reads, prints, writes.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { openFromOptions, outputFormat } from '../load.js';
import { PermissionError, UsageError } from '../../errors.js';
import { applyCleanup, readForCleanup, type CleanupBase } from '../../engine/cleanup.js';
import type { Host } from '../../engine/host.js';
import { requireNetAdmin } from '../../host/privilege.js';
import { realHost } from '../../host/real.js';
import { isClean, planCleanup, type CleanupInput } from '../../reconcile/cleanup.js';
import { cleanupJSON, cleanupPreviewText, cleanupText } from '../../render/views/cleanup.js';
import type { Problem } from '../../model/types.js';
import { validateConfig } from '../../validate/index.js';
import { EXIT_ERROR, EXIT_OK } from '../exit.js';
import { defaultSubnetFile } from '../../daemon/subnet-env.js';


export interface CleanupFlags extends GlobalOptions {
  dryRun?: boolean;
  subnetFile?: string;
  vni?: string;
  allFlannelDevices?: boolean;
}

function parseVni(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]{1,8}$/.test(s) || Number(s) > 16777215) throw new UsageError(`--vni ${s}: expected a VNI from 0 to 16777215`);
  return Number(s);
}

/** The source is read only when one is named: cleanup must work after the source is gone. */
async function sourceVni(o: CleanupFlags): Promise<number | undefined> {
  if (!o.source && !process.env.OVLNET_SOURCE) return undefined;
  const source = await openFromOptions(o);
  try {
    const config = validateConfig((await source.load()).config);
    const b = config.backend;
    return 'vni' in b ? b.vni : undefined;
  } finally {
    await source.close();
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`subnet file ${path}: ${(e as Error).message}`);
  }
}

/** What a dry run could not read without root: listed, never guessed. */
const NETFILTER_UNREAD: Problem = { subject: 'iptables', code: 'host-unread', message: 'not read: iptables needs root (CAP_NET_ADMIN) even to read; its rules are not listed (run as root to see them)' };

async function readState(host: Host, base: CleanupBase, dryRun: boolean): Promise<{ input: CleanupInput; unread: Problem[] }> {
  try {
    return { input: await readForCleanup(host, withFileText(base)), unread: [] };
  } catch (e) {
    // A dry run needs no root: routes, devices and the subnet file are
    // readable by anyone; only iptables is not, and that is said.
    if (!(dryRun && e instanceof PermissionError)) throw e;
    const r = await host.read({ kernel: { fdbDevices: [] } });
    return { input: { ...withFileText(base), actual: r.kernel!, netfilter: undefined }, unread: [NETFILTER_UNREAD] };
  }
}

function withFileText(base: CleanupBase): CleanupBase {
  return { ...base, subnetFile: base.subnetFile && { ...base.subnetFile, text: readText(base.subnetFile.path) } };
}


export default async function cleanup(o: CleanupFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const started = Date.now();
  // With --netns the daemon's default file is the namespace's own, never the host's.
  const path = o.subnetFile ?? defaultSubnetFile(o.netns);
  const base = {
    vni: parseVni(o.vni),
    sourceVni: await sourceVni(o),
    allFlannelDevices: o.allFlannelDevices ?? false,
    subnetFile: path ? { path, explicit: o.subnetFile !== undefined } : undefined,
  };
  const host = realHost(o.netns);
  const { input, unread } = await readState(host, base, Boolean(o.dryRun));
  const plan = planCleanup(input);
  if (format !== 'json') printProblems(ctx, [...unread, ...plan.kept]);

  if (o.dryRun || isClean(plan)) {
    ctx.out(format === 'json' ? JSON.stringify(cleanupJSON(plan, Boolean(o.dryRun), unread), null, 2) : cleanupPreviewText(plan, isClean(plan), unread.length > 0, ctx.style));
    return EXIT_OK;
  }

  requireNetAdmin();
  let fileFailure: string | undefined;
  const removeFile = () => {
    if (!plan.subnetFile) return;
    try {
      unlinkSync(plan.subnetFile);
    } catch (e) {
      fileFailure = `removing ${plan.subnetFile}: ${(e as Error).message}`;
    }
  };
  const done = await applyCleanup(host, plan, () => withFileText(base), removeFile);
  // A Set: the rules are one transaction, whose error is said once.
  const failures = [...new Set(done.failures.map((f) => `${f.line}: ${f.message}`))];
  if (fileFailure) failures.push(fileFailure);
  const { remaining } = done;
  const fileLeft = plan.subnetFile !== undefined && existsSync(plan.subnetFile);
  for (const chain of done.chainsLeft) failures.push(`${chain} is still there`);
  if (fileLeft) failures.push(`${plan.subnetFile} is still there`);
  const outcome = { ok: failures.length === 0 && remaining.length === 0, failures, remaining, durationMs: Date.now() - started };
  if (format === 'json') ctx.out(JSON.stringify(cleanupJSON(plan, false, unread, outcome), null, 2));
  else {
    const text = cleanupText(plan, outcome, ctx.style, ctx.errStyle);
    for (const line of text.out) ctx.out(line);
    for (const line of text.err) ctx.err(line);
  }
  return outcome.ok ? EXIT_OK : EXIT_ERROR;
}
