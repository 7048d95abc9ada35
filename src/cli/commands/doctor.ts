// ovlnet doctor: why pods on two nodes can not talk, although `diff` may
// say "in sync". Reads only. Exit 0 nothing failed, 2 a check failed, 1 it
// could not run.
import type { Context, GlobalOptions } from '../context.js';
import { outputFormat, takeSnapshot } from '../load.js';
import { decide } from '../../doctor/decide.js';
import { gatherFacts } from '../../doctor/gather.js';
import { doctorJSON, doctorTable } from '../../render/views/doctor.js';
import { parseListenAddr } from '../../daemon/server.js';
import { EXIT_CHECK_FAILED, EXIT_OK } from '../exit.js';
import { withSpinner } from '../spinner.js';
import { defaultSubnetFile } from '../../daemon/subnet-env.js';

export interface DoctorFlags extends GlobalOptions {
  subnetFile?: string;
  peer?: string[] | string;
  metricsAddr?: string;
}

/** --peer NAME (repeatable) gives a list; OVLNET_PEER or the config file may give one string: "a,b" or "a b". */
export function peerNames(v: string[] | string | undefined): string[] {
  if (Array.isArray(v)) return v;
  return v ? v.split(/[\s,]+/).filter(Boolean) : [];
}

/**
 * The subnet.env doctor checks unless told: the one the daemon writes for the
 * same --netns (a node in a namespace has its own beside the host's), so
 * doctor never judges a namespace's node by the host's file.
 */
export function subnetFileToCheck(o: Pick<DoctorFlags, 'subnetFile' | 'netns'>): string {
  return o.subnetFile ?? defaultSubnetFile(o.netns);
}

export default async function doctor(o: DoctorFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  // Checked before anything is read: a typo should not cost the probes.
  if (o.metricsAddr) parseListenAddr(o.metricsAddr);
  const snap = await takeSnapshot(o, ctx, { leaseExpiries: true });
  const facts = await withSpinner(ctx, `checking the host and probing peers`, () => gatherFacts(snap, {
    netns: o.netns,
    subnetFile: subnetFileToCheck(o),
    ipMasq: o.ipMasq ?? false,
    peers: peerNames(o.peer),
    daemonAddr: o.metricsAddr,
  }));
  const report = decide(facts);
  if (format === 'json') ctx.out(doctorJSON(report));
  else ctx.out(doctorTable(report, ctx.table, ctx.style, ctx.stdoutIsTTY ? process.stdout.columns || 120 : undefined));
  return report.ok ? EXIT_OK : EXIT_CHECK_FAILED;
}
