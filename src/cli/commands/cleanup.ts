// ovlnet cleanup: remove what ovlnet put on this host and nothing else.
// The decisions are in reconcile/cleanup.ts; this file reads, prints, writes.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { openFromOptions, outputFormat } from '../load.js';
import { UsageError } from '../../errors.js';
import { toBatches } from '../../host/commands.js';
import { entryKey } from '../../model/keys.js';
import { renderCleanup } from '../../host/iptables.js';
import { readNetfilterIfInstalled, writeNetfilter } from '../../host/netfilter.js';
import { requireNetAdmin } from '../../host/privilege.js';
import { readHost } from '../../host/read.js';
import { writeBatches } from '../../host/write.js';
import type { Change } from '../../model/types.js';
import { chainName, isClean, planCleanup, type CleanupInput, type CleanupPlan } from '../../reconcile/cleanup.js';
import { orderChanges } from '../../reconcile/order.js';
import { changeLine } from '../../render/diff.js';
import { entryJSONForChange } from '../../render/json.js';
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
    return config.backend.type === 'vxlan' ? config.backend.vni : undefined;
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

async function readState(o: CleanupFlags, base: Omit<CleanupInput, 'actual' | 'netfilter'>): Promise<CleanupInput> {
  const actual = await readHost(o.netns);
  const netfilter = await readNetfilterIfInstalled(o.netns, [4, 6]);
  const subnetFile = base.subnetFile && { ...base.subnetFile, text: readText(base.subnetFile.path) };
  return { ...base, actual, netfilter, subnetFile };
}

function ruleChanges(p: CleanupPlan): Change[] {
  return p.netfilter.flatMap((c) => c.rules.map((r): Change => ({ action: 'delete', kind: r.kind, key: entryKey(r), actual: r })));
}

const chainsRemoved = (p: CleanupPlan) => p.netfilter.filter((c) => c.deleteChain).map(chainName);

function describeLines(p: CleanupPlan, ctx: Context): string[] {
  const lines = orderChanges([...ruleChanges(p), ...p.changes]).map((c) => changeLine(c, ctx.style));
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
  const input = await readState(o, base);
  const plan = planCleanup(input);
  const json = (extra: object) => ctx.out(JSON.stringify({
    version: 1,
    dryRun: Boolean(o.dryRun),
    remove: orderChanges([...ruleChanges(plan), ...plan.changes]).map(entryJSONForChange),
    // The IPv4 masquerade chain, as before; every chain in removeChains.
    removeChain: plan.netfilter.some((c) => c.deleteChain && c.family === 4 && c.set.table === 'nat') ? 'FLANNEL-POSTRTG' : null,
    removeChains: chainsRemoved(plan),
    removeFile: plan.subnetFile ?? null,
    kept: plan.kept,
    ...extra,
  }, null, 2));
  if (format !== 'json') printProblems(ctx, plan.kept);

  if (o.dryRun || isClean(plan)) {
    if (format === 'json') json({ ok: true });
    else if (isClean(plan)) ctx.out('Nothing to clean up: no ovlnet routes, devices, iptables rules or subnet file here.');
    else ctx.out([...describeLines(plan, ctx), '', ctx.style.bold(`Dry run: ${count(plan)} to remove. Nothing was changed.`)].join('\n'));
    return EXIT_OK;
  }

  requireNetAdmin();
  const failures: string[] = [];
  const written = await writeBatches(toBatches(orderChanges(plan.changes)), o.netns);
  for (const f of written.failures) failures.push(`${f.line}: ${f.message}`);
  for (const family of [4, 6] as const) {
    const error = await writeNetfilter(o.netns, family, renderCleanup(plan.netfilter.filter((c) => c.family === family)));
    if (error) failures.push(`${family === 6 ? 'ip6tables' : 'iptables'}-restore: ${error}`);
  }
  if (plan.subnetFile) {
    try {
      unlinkSync(plan.subnetFile);
    } catch (e) {
      failures.push(`removing ${plan.subnetFile}: ${(e as Error).message}`);
    }
  }

  // Verify against a fresh read. A device removed for carrying ovlnet routes
  // no longer carries them, so devices are checked by name.
  const reread = await readState(o, base);
  const after = planCleanup(reread);
  const linksLeft = plan.changes.filter((c) => c.kind === 'link' && c.actual?.kind === 'link' && reread.actual.links.has(c.actual.name));
  const remaining = [...after.changes.filter((c) => c.kind === 'route'), ...linksLeft, ...ruleChanges(after)];
  const fileLeft = plan.subnetFile !== undefined && existsSync(plan.subnetFile);
  for (const chain of chainsRemoved(after)) failures.push(`${chain} is still there`);
  if (fileLeft) failures.push(`${plan.subnetFile} is still there`);
  const ok = failures.length === 0 && remaining.length === 0;
  if (format === 'json') {
    json({ ok, failures, remaining: remaining.map(entryJSONForChange), durationMs: Date.now() - started });
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
