// Source checks: what the cluster state source says about this node and its
// peers, against what runs here. Pure: recorded facts in, check results out.
import { fail, pass, warn, type CheckResult } from '../types.js';

export interface SourceFacts {
  /** vxlan: the device, the MAC the source publishes for this node and the one the device has. */
  vtep?: { device: string; published: string; actual?: string };
  /** The local lease's expiry: undefined/null when the source has none (file, Kubernetes, reservation). */
  expiresAt?: Date | null;
  now: number;
  /** Nodes the source or validation left out, with the reason; `name` when known. */
  leftOut: Array<{ name?: string; subject: string; reason: string }>;
  /** flanneld processes found, and whether each runs in this network namespace. */
  flanneld: Array<{ pid: number; sameNetns: boolean }>;
}

/** flannel renews its lease an hour before expiry; less than that left means renewals are failing. */
export const LEASE_MARGIN_MS = 60 * 60_000;
const LISTED = 10;

function inTime(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

export function checkVtepMAC(f: SourceFacts): CheckResult[] {
  if (!f.vtep) return [];
  const { device, published, actual } = f.vtep;
  const name = 'source.vtep_mac';
  if (actual === undefined) return [fail(name, `${device} does not exist; peers send to ${published}`, 'ovlnet apply')];
  if (actual.toLowerCase() !== published.toLowerCase()) {
    return [fail(name, `the source publishes ${published} for this node, ${device} has ${actual}: peers' packets are dropped`,
      'ovlnet apply sets the published MAC; if the source is wrong, republish it (lease BackendData / backend-data annotation)')];
  }
  return [pass(name, `${device} has the published VTEP MAC ${published}`)];
}

export function checkLease(f: SourceFacts): CheckResult {
  const name = 'source.lease';
  if (!f.expiresAt) return pass(name, 'the local node has no lease expiry in this source');
  const left = f.expiresAt.getTime() - f.now;
  const at = f.expiresAt.toISOString();
  if (left <= 0) return fail(name, `the local lease expired at ${at}: peers drop this node`, 'is ovlnet daemon running and reaching the source? journalctl -u ovlnet');
  if (left < LEASE_MARGIN_MS) return warn(name, `the local lease expires in ${inTime(left)} (${at}): renewals are failing`, 'check the daemon\'s log and its access to the source');
  return pass(name, `the local lease expires in ${inTime(left)}`);
}

export function checkLeftOut(f: SourceFacts): CheckResult[] {
  if (!f.leftOut.length) return [pass('source.nodes', 'no node left out by the source or by validation')];
  const out = f.leftOut.slice(0, LISTED).map((l) => warn('source.left_out', `${l.subject}: ${l.reason}`, 'ovlnet nodes shows what the source holds', l.name ? { peer: l.name } : {}));
  if (f.leftOut.length > LISTED) out.push(warn('source.left_out', `and ${f.leftOut.length - LISTED} more left out`, 'all of them: ovlnet plan -o json (problems)'));
  return out;
}

export function checkFlanneld(f: SourceFacts): CheckResult {
  const name = 'source.flanneld';
  const here = f.flanneld.filter((p) => p.sameNetns);
  if (here.length) {
    return fail(name, `flanneld runs in this network namespace (pid ${here.map((p) => p.pid).join(', ')}) and programs the same device and routes`,
      'run one of them: stop flanneld (kubectl -n kube-flannel delete ds kube-flannel-ds, or systemctl stop flanneld) or ovlnet');
  }
  return pass(name, 'no flanneld in this network namespace');
}

export function sourceChecks(f: SourceFacts): CheckResult[] {
  return [...checkVtepMAC(f), checkLease(f), ...checkLeftOut(f), checkFlanneld(f)];
}
