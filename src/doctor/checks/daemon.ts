// The running daemon's own probes, as its /peers endpoint reports them:
// shown beside doctor's, and the only word on peers doctor's sample left
// out. Pure.
import { fail, pass, warn, type CheckResult } from '../types.js';

export interface DaemonPeerView {
  name: string;
  state: 'reachable' | 'unreachable' | 'unknown';
  since?: string;
  rttMs?: number;
}

export interface DaemonFacts {
  url: string;
  peers?: DaemonPeerView[];
  error?: string;
  /** Peers doctor probed itself: its own result is the one reported for them. */
  probedHere: string[];
}

export function daemonChecks(f: DaemonFacts | undefined): CheckResult[] {
  if (!f) return [];
  const name = 'daemon.probes';
  if (f.error || !f.peers) return [warn(name, `could not read ${f.url}: ${f.error ?? 'no answer'}`, 'is ovlnet daemon running with this --metrics-addr?')];
  const here = new Set(f.probedHere);
  const down = f.peers.filter((p) => p.state === 'unreachable');
  const out: CheckResult[] = [];
  for (const p of down) {
    if (here.has(p.name)) continue;
    out.push(fail('daemon.peer', `the daemon's probes find it unreachable${p.since ? ` since ${p.since}` : ''} (not in doctor's sample)`, `ovlnet doctor --peer ${p.name}`, { peer: p.name }));
  }
  const unknown = f.peers.filter((p) => p.state === 'unknown').length;
  const summary = `the daemon probes ${f.peers.length} peer${f.peers.length === 1 ? '' : 's'}: ${down.length} unreachable${unknown ? `, ${unknown} not probed yet` : ''}${down.length ? ` (${down.map((p) => p.name).slice(0, 5).join(', ')})` : ''}`;
  out.unshift(down.length ? warn(name, summary) : pass(name, summary));
  return out;
}
