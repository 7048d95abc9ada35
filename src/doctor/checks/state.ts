// State checks: the diff between the plan and the kernel, and the subnet.env
// the CNI plugin reads. Pure: recorded facts in, check results out.
import { fail, pass, warn, type CheckResult } from '../types.js';

export interface StateFacts {
  /** One line per change the diff found (as `ovlnet diff` prints them). */
  drift: string[];
  /** Routes held by a foreign route, as the diff reports them. */
  conflicts: string[];
  /** The subnet.env checked; undefined when the check was turned off (--subnet-file ''). */
  subnetFile?: string;
  /** Its text; undefined when it does not exist. */
  subnetText?: string;
  /** The file the plan gives (what `ovlnet daemon` writes). */
  expectedSubnetEnv: string;
}

const LISTED = 3;

function listed(lines: string[]): string {
  const head = lines.slice(0, LISTED).map((l) => l.trim()).join('; ');
  return lines.length > LISTED ? `${head}; and ${lines.length - LISTED} more` : head;
}

/** KEY=VALUE lines of an env file; comments and other lines ignored. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*?)\s*$/.exec(line);
    if (m) out.set(m[1], m[2].replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

export function checkDrift(f: StateFacts): CheckResult[] {
  const out: CheckResult[] = [];
  if (f.drift.length) {
    out.push(fail('state.diff', `${f.drift.length} difference${f.drift.length === 1 ? '' : 's'} from the plan: ${listed(f.drift)}`,
      'all of them: ovlnet diff (same options); repair: ovlnet apply'));
  } else {
    out.push(pass('state.diff', 'the kernel holds what the plan says'));
  }
  if (f.conflicts.length) {
    out.push(fail('state.conflicts', `${f.conflicts.length} peer route${f.conflicts.length === 1 ? '' : 's'} held by a foreign route: ${listed(f.conflicts)}`,
      'find who owns it (ip route show <subnet>); delete it if stale, then ovlnet apply'));
  }
  return out;
}

export function checkSubnetEnv(f: StateFacts): CheckResult {
  const name = 'state.subnet_env';
  if (f.subnetFile === undefined) return pass(name, 'not checked (--subnet-file \'\')');
  if (f.subnetText === undefined) {
    return fail(name, `${f.subnetFile} does not exist: the flannel CNI plugin can not set up new pods`,
      `ovlnet daemon writes it (--subnet-file ${f.subnetFile}); pass --subnet-file PATH if it lives elsewhere`);
  }
  const have = parseEnvFile(f.subnetText);
  const want = parseEnvFile(f.expectedSubnetEnv);
  const wrong: string[] = [];
  for (const [k, v] of want) {
    const h = have.get(k);
    if (h !== v) wrong.push(`${k}=${h ?? '(missing)'} (plan: ${v})`);
  }
  if (wrong.length) {
    return fail(name, `${f.subnetFile} differs from the plan: ${wrong.join(', ')}`,
      'the daemon rewrites it on its next cycle; new pods get the new values, running pods keep the old ones (restart them)');
  }
  if (!have.has('FLANNEL_NETWORK') && !have.has('FLANNEL_IPV6_NETWORK')) return warn(name, `${f.subnetFile} has no network`);
  return pass(name, `${f.subnetFile} matches the plan (${want.get('FLANNEL_SUBNET') ?? want.get('FLANNEL_IPV6_SUBNET')}, MTU ${want.get('FLANNEL_MTU')})`);
}

export function stateChecks(f: StateFacts): CheckResult[] {
  return [...checkDrift(f), checkSubnetEnv(f)];
}
