// What /healthz and /readyz answer. Pure.
//  - healthy while the last successful cycle is at most 3 intervals old; before
//    the first one, the process start counts, so a slow start (etcd still down)
//    gets the same grace before a liveness probe fails;
//  - ready from the first successful cycle on, for good: later failures leave
//    the data plane in place, which is what readiness stands for.

export const HEALTHY_INTERVALS = 3;

export interface HealthInput {
  now: number;
  startedAt: number;
  lastSuccessAt?: number;
  intervalMs: number;
}

export interface Verdict {
  ok: boolean;
  body: string;
}

export function health(h: HealthInput): Verdict {
  const since = h.lastSuccessAt ?? h.startedAt;
  const age = h.now - since;
  const limit = HEALTHY_INTERVALS * h.intervalMs;
  const what = h.lastSuccessAt === undefined ? 'no successful cycle yet' : `last successful cycle ${(age / 1000).toFixed(1)}s ago`;
  if (age <= limit) return { ok: true, body: `ok: ${what}\n` };
  return { ok: false, body: `unhealthy: ${what} (limit ${(limit / 1000).toFixed(1)}s, ${HEALTHY_INTERVALS} intervals)\n` };
}

export function readiness(lastSuccessAt: number | undefined): Verdict {
  return lastSuccessAt === undefined
    ? { ok: false, body: 'not ready: no successful cycle yet\n' }
    : { ok: true, body: 'ready\n' };
}
