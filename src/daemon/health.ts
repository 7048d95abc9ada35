// What /healthz and /readyz answer. Pure.
//
// Liveness (/healthz) is about this process only: its loop is alive when a
// cycle is running and has not been running for longer than a stuck limit,
// or when the next cycle is scheduled and its timer is not overdue. The
// source's state plays no part: during an API-server or etcd outage every
// daemon fails its cycles while the kernels are fine, and a liveness probe
// that followed the source would restart them all for nothing.
//
// Readiness (/readyz) is where the source's state and the data plane go:
// ready once a cycle has succeeded, as long as one has succeeded within
// HEALTHY_INTERVALS intervals and no backend reports its data plane down.

export const HEALTHY_INTERVALS = 3;
/** A cycle running longer than this is stuck (a hung host tool): at least a minute, so a slow cold start is not. */
export const MIN_STUCK_MS = 60_000;

export interface LoopState {
  now: number;
  startedAt: number;
  intervalMs: number;
  /** When the running cycle started; undefined when none runs. */
  runningSince?: number;
  /** When the next cycle is due (Infinity: none scheduled, before start or after stop). */
  nextDueAt: number;
  lastSuccessAt?: number;
}

export interface Verdict {
  ok: boolean;
  body: string;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function lastSuccess(now: number, at: number | undefined): string {
  return at === undefined ? 'no successful cycle yet' : `last successful cycle ${secs(now - at)} ago`;
}

/** The limit past which a running cycle or an overdue timer means the loop is dead. */
export function stuckLimitMs(intervalMs: number): number {
  return Math.max(HEALTHY_INTERVALS * intervalMs, MIN_STUCK_MS);
}

export function health(h: LoopState): Verdict {
  const limit = stuckLimitMs(h.intervalMs);
  const tail = lastSuccess(h.now, h.lastSuccessAt);
  let loop: string;
  let ok: boolean;
  if (h.runningSince !== undefined) {
    const age = h.now - h.runningSince;
    ok = age <= limit;
    loop = `cycle running for ${secs(age)}`;
  } else if (h.nextDueAt !== Infinity) {
    const late = h.now - h.nextDueAt;
    ok = late <= limit;
    loop = late > 0 ? `next cycle overdue by ${secs(late)}` : `next cycle in ${secs(-late)}`;
  } else {
    // Not started yet (metrics server first) or stopping: the process start gets the same grace.
    const age = h.now - h.startedAt;
    ok = age <= limit;
    loop = `no cycle scheduled for ${secs(age)}`;
  }
  return ok
    ? { ok, body: `ok: loop alive (${loop}); ${tail}\n` }
    : { ok, body: `unhealthy: loop stuck (${loop}, limit ${secs(limit)}); ${tail}\n` };
}

export interface ReadyInput {
  now: number;
  intervalMs: number;
  lastSuccessAt?: number;
  /** Why a backend's data plane is down (the udp forwarder not running), if it is. */
  dataPlaneDown?: string;
}

export function readiness(r: ReadyInput): Verdict {
  if (r.lastSuccessAt === undefined) return { ok: false, body: 'not ready: no successful cycle yet\n' };
  if (r.dataPlaneDown) return { ok: false, body: `not ready: data plane down: ${r.dataPlaneDown}\n` };
  const age = r.now - r.lastSuccessAt;
  const limit = HEALTHY_INTERVALS * r.intervalMs;
  if (age > limit) {
    return { ok: false, body: `not ready: ${lastSuccess(r.now, r.lastSuccessAt)} (limit ${secs(limit)}, ${HEALTHY_INTERVALS} intervals); the kernel keeps what was last programmed\n` };
  }
  return { ok: true, body: `ready: ${lastSuccess(r.now, r.lastSuccessAt)}\n` };
}
