// What `ovlnet doctor` reports: one result per check (or per peer a check
// is about), in the JSON shape the command prints. Pure types.

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable identifier, e.g. `host.ip_forward`, `peer.overlay`. */
  name: string;
  status: CheckStatus;
  /** The peer's node name, whenever the finding is about one peer. */
  peer?: string;
  /** One line: what was found. */
  message: string;
  /** One line: the command to fix it or to look further. */
  hint?: string;
  /** A failure of this host that stops every overlay probe (a backend's row): peer failures are then explained by it. Not printed. */
  blocksOverlay?: boolean;
}

/** The outcome of one probe (one ping), as recorded. */
export interface ProbeOutcome {
  ok: boolean;
  rttMs?: number;
  /** Why it failed, when ping said (e.g. "message too long, mtu=1400"); absent for a plain timeout. */
  error?: string;
}

export const pass = (name: string, message: string, extra: Partial<CheckResult> = {}): CheckResult => ({ name, status: 'pass', message, ...extra });
export const warn = (name: string, message: string, hint?: string, extra: Partial<CheckResult> = {}): CheckResult => ({ name, status: 'warn', message, ...(hint ? { hint } : {}), ...extra });
export const fail = (name: string, message: string, hint?: string, extra: Partial<CheckResult> = {}): CheckResult => ({ name, status: 'fail', message, ...(hint ? { hint } : {}), ...extra });
