// ovlnet cleanup: remove what ovlnet put on this host and nothing else.
// The decisions are in reconcile/cleanup.ts; this file reads, prints, writes.
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { openFromOptions, outputFormat } from '../load.js';
import { PermissionError, UsageError } from '../../errors.js';
import { toBatches } from '../../host/commands.js';
import { renderNatCleanup } from '../../host/iptables.js';
import { readNatIfInstalled, writeNat } from '../../host/netfilter.js';
import { requireNetAdmin } from '../../host/privilege.js';
import { readHost } from '../../host/read.js';
import { writeBatches } from '../../host/write.js';
import type { Change, NatRuleEntry, Problem } from '../../model/types.js';
import { isClean, planCleanup, type CleanupInput, type CleanupPlan } from '../../reconcile/cleanup.js';
import { orderChanges } from '../../reconcile/order.js';
import { changeLine } from '../../render/diff.js';
import { changeJSON, CHANGES_JSON_VERSION } from '../../render/changes-view.js';
import { validateConfig } from '../../validate/index.js';
import { EXIT_ERROR, EXIT_OK } from '../exit.js';
import { MASQ_CHAIN } from '../../backends/masq.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';

export interface CleanupFlags extends GlobalOptions {
  dryRun?: boolean;
  subnetFile?: string;
  vni?: string;
  allFlannelDevices?: boolean;
}

function parseVni(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]{1,8}$/.test(s) || Number(s) < 1 || Number(s) > 16777215) throw new UsageError(`--vni ${s}: expected a VNI from 1 to 16777215`);
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

/** What a dry run could not read without root: listed, never guessed. */
const NAT_UNREAD: Problem = { subject: 'nat table', message: 'not read: iptables needs root (CAP_NET_ADMIN) even to read; masquerade rules are not listed (run as root to see them)' };

async function readState(o: CleanupFlags, base: Omit<CleanupInput, 'actual' | 'nat'>): Promise<{ input: CleanupInput; unread: Problem[] }> {
  const actual = await readHost(o.netns);
  let nat;
  const unread: Problem[] = [];
  try {
    nat = await readNatIfInstalled(o.netns);
  } catch (e) {
    // A dry run needs no root: routes, devices and the subnet file are
    // readable by anyone; only the nat table is not, and that is said.
    if (!(o.dryRun && e instanceof PermissionError)) throw e;
    unread.push(NAT_UNREAD);
  }
  const subnetFile = base.subnetFile && { ...base.subnetFile, text: readText(base.subnetFile.path) };
  return { input: { ...base, actual, nat, subnetFile }, unread };
}

function natChanges(p: CleanupPlan): Change[] {
  return p.nat.rules.map((r: NatRuleEntry) => ({ action: 'delete', kind: 'nat', key: `nat:${r.chain}/${r.spec}`, actual: r }));
}

function describeLines(p: CleanupPlan, ctx: Context): string[] {
  const lines = orderChanges([...natChanges(p), ...p.changes]).map((c) => changeLine(c, ctx.style));
  if (p.nat.deleteChain) lines.push(ctx.style.red(`  - nat chain ${MASQ_CHAIN}`));
  if (p.subnetFile) lines.push(ctx.style.red(`  - file ${p.subnetFile}`));
  return lines;
}

function count(p: CleanupPlan): number {
  return p.changes.length + p.nat.rules.length + (p.nat.deleteChain ? 1 : 0) + (p.subnetFile ? 1 : 0);
}

export default async function cleanup(o: CleanupFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const started = Date.now();
  // A namespace has no files of its own: the host's subnet file is only touched when named.
  const path = o.subnetFile ?? (o.netns ? undefined : DEFAULT_SUBNET_FILE);
  const base = {
    vni: parseVni(o.vni),
    sourceVni: await sourceVni(o),
    allFlannelDevices: o.allFlannelDevices ?? false,
    subnetFile: path ? { path, explicit: o.subnetFile !== undefined } : undefined,
  };
  const { input, unread } = await readState(o, base);
  const plan = planCleanup(input);
  const json = (extra: object) => ctx.out(JSON.stringify({
    version: CHANGES_JSON_VERSION,
    dryRun: Boolean(o.dryRun),
    // Everything cleanup removes is a delete; the vocabulary is diff's and apply's.
    summary: { add: 0, change: 0, delete: count(plan) },
    remove: orderChanges([...natChanges(plan), ...plan.changes]).map((c) => changeJSON(c, () => null)),
    removeChain: plan.nat.deleteChain ? MASQ_CHAIN : null,
    removeFile: plan.subnetFile ?? null,
    kept: plan.kept,
    unread,
    ...extra,
  }, null, 2));
  if (format !== 'json') printProblems(ctx, [...unread, ...plan.kept]);

  if (o.dryRun || isClean(plan)) {
    if (format === 'json') json({ ok: true });
    else if (isClean(plan)) ctx.out(unread.length ? 'Nothing to clean up among the routes, devices and subnet file (the nat table was not read: see above).' : 'Nothing to clean up: no ovlnet routes, devices, masquerade rules or subnet file here.');
    else ctx.out([...describeLines(plan, ctx), '', ctx.style.bold(`Dry run: ${count(plan)} to remove. Nothing was changed.`)].join('\n'));
    return EXIT_OK;
  }

  requireNetAdmin();
  const failures: string[] = [];
  const written = await writeBatches(toBatches(orderChanges(plan.changes)), o.netns);
  for (const f of written.failures) failures.push(`${f.line}: ${f.message}`);
  const natError = await writeNat(o.netns, renderNatCleanup(plan.nat));
  if (natError) failures.push(`iptables-restore: ${natError}`);
  if (plan.subnetFile) {
    try {
      unlinkSync(plan.subnetFile);
    } catch (e) {
      failures.push(`removing ${plan.subnetFile}: ${(e as Error).message}`);
    }
  }

  // Verify against a fresh read. A device removed for carrying ovlnet routes
  // no longer carries them, so devices are checked by name.
  const reread = (await readState(o, base)).input;
  const after = planCleanup(reread);
  const linksLeft = plan.changes.filter((c) => c.kind === 'link' && c.actual?.kind === 'link' && reread.actual.links.has(c.actual.name));
  const remaining = [...after.changes.filter((c) => c.kind === 'route'), ...linksLeft, ...natChanges(after)];
  const fileLeft = plan.subnetFile !== undefined && existsSync(plan.subnetFile);
  if (after.nat.deleteChain) failures.push(`nat chain ${MASQ_CHAIN} is still there`);
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
