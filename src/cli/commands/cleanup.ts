// ovlnet cleanup: remove what ovlnet put on this host and nothing else.
// The decisions are in reconcile/cleanup.ts; this file reads, prints, writes.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { openFromOptions, outputFormat } from '../load.js';
import { PermissionError, UsageError } from '../../errors.js';
import { applyCleanup, chainsRemoved, cleanupChanges, readForCleanup, ruleChanges, type CleanupBase } from '../../engine/cleanup.js';
import type { Host } from '../../engine/host.js';
import { requireNetAdmin } from '../../host/privilege.js';
import { realHost } from '../../host/real.js';
import { isClean, planCleanup, type CleanupInput, type CleanupPlan } from '../../reconcile/cleanup.js';
import { changeLine } from '../../render/diff.js';
import { changeJSON, CHANGES_JSON_VERSION } from '../../render/changes-view.js';
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
const NETFILTER_UNREAD: Problem = { subject: 'iptables', message: 'not read: iptables needs root (CAP_NET_ADMIN) even to read; its rules are not listed (run as root to see them)' };

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


function describeLines(p: CleanupPlan, ctx: Context): string[] {
  const lines = cleanupChanges(p).map((c) => changeLine(c, ctx.style));
  for (const chain of chainsRemoved(p)) lines.push(ctx.style.red(`  - ${chain}`));
  if (p.subnetFile) lines.push(ctx.style.red(`  - file ${p.subnetFile}`));
  return lines;
}

function count(p: CleanupPlan): number {
  return p.changes.length + ruleChanges(p).length + chainsRemoved(p).length + (p.subnetFile ? 1 : 0);
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
  const json = (extra: object) => ctx.out(JSON.stringify({
    version: CHANGES_JSON_VERSION,
    dryRun: Boolean(o.dryRun),
    // Everything cleanup removes is a delete; the vocabulary is diff's and apply's.
    summary: { add: 0, change: 0, delete: count(plan) },
    remove: cleanupChanges(plan).map((c) => changeJSON(c, () => null)),
    // The IPv4 masquerade chain, as before; every chain in removeChains.
    removeChain: plan.netfilter.some((c) => c.deleteChain && c.family === 4 && c.set.table === 'nat') ? 'FLANNEL-POSTRTG' : null,
    removeChains: chainsRemoved(plan),
    removeFile: plan.subnetFile ?? null,
    kept: plan.kept,
    unread,
    ...extra,
  }, null, 2));
  if (format !== 'json') printProblems(ctx, [...unread, ...plan.kept]);

  if (o.dryRun || isClean(plan)) {
    if (format === 'json') json({ ok: true });
    else if (isClean(plan)) ctx.out(unread.length ? 'Nothing to clean up among the routes, devices and subnet file (iptables was not read: see above).' : 'Nothing to clean up: no ovlnet routes, devices, iptables rules or subnet file here.');
    else ctx.out([...describeLines(plan, ctx), '', ctx.style.bold(`Dry run: ${count(plan)} to remove. Nothing was changed.`)].join('\n'));
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
  const ok = failures.length === 0 && remaining.length === 0;
  if (format === 'json') {
    json({ ok, failures, remaining: remaining.map((c) => changeJSON(c, () => null)), durationMs: Date.now() - started });
    return ok ? EXIT_OK : EXIT_ERROR;
  }
  ctx.out(describeLines(plan, ctx).join('\n'));
  for (const f of failures) ctx.err(ctx.errStyle.red(`failed: ${f}`));
  for (const c of remaining) ctx.err(ctx.errStyle.red(`not removed: ${changeLine(c, ctx.errStyle).trim()}`));
  const tail = ok ? `${count(plan)} removed` : `${count(plan)} to remove, ${failures.length} failed, ${remaining.length} still there`;
  ctx.out(`\n${ok ? ctx.style.green('Cleanup complete:') : ctx.style.red('Cleanup incomplete:')} ${tail} (${Date.now() - started} ms).`);
  if (!ok) ctx.err('hint: fix the cause above and run cleanup again; it only removes what is left');
  return ok ? EXIT_OK : EXIT_ERROR;
}
