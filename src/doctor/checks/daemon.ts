// The running daemon's own probes, as its /peers endpoint reports them:
// shown beside doctor's, and the only word on peers doctor's sample left
// out. Pure.
//
// The daemon has an entry per peer and address family (a dual-stack peer has
// two; a daemon before that, one without `family`): a peer is counted and
// named once, with the families it is unreachable on.
import { fail, pass, warn, type CheckResult } from '../types.js';

export interface DaemonPeerView {
  name: string;
  /** The address family probed (absent from a daemon that probed one family per peer). */
  family?: 4 | 6;
  state: 'reachable' | 'unreachable' | 'unknown';
  since?: string;
  rttMs?: number;
}

export interface DaemonFacts {
  url: string;
  peers?: DaemonPeerView[];
  error?: string;
  /** Peers doctor probed itself (every family): its own result is the one reported for them. */
  probedHere: string[];
}

/** One peer's entries, by name, in the daemon's order. */
interface PeerView {
  name: string;
  down: DaemonPeerView[];
  unknown: boolean;
}

function byPeer(views: DaemonPeerView[]): PeerView[] {
  const out = new Map<string, PeerView>();
  for (const v of views) {
    const p = out.get(v.name) ?? { name: v.name, down: [], unknown: false };
    if (v.state === 'unreachable') p.down.push(v);
    if (v.state === 'unknown') p.unknown = true;
    out.set(v.name, p);
  }
  return [...out.values()];
}

/** " over IPv6", " over IPv4 and IPv6"; nothing for a single-family cluster, or a daemon that did not say. */
function families(down: DaemonPeerView[], dual: boolean): string {
  if (!dual) return '';
  const fs = [...new Set(down.map((v) => v.family).filter((f) => f !== undefined))].sort();
  return fs.length ? ` over ${fs.map((f) => `IPv${f}`).join(' and ')}` : '';
}

export function daemonChecks(f: DaemonFacts | undefined): CheckResult[] {
  if (!f) return [];
  const name = 'daemon.probes';
  if (f.error || !f.peers) return [warn(name, `could not read ${f.url}: ${f.error ?? 'no answer'}`, 'is ovlnet daemon running with this --metrics-addr?')];
  const here = new Set(f.probedHere);
  const peers = byPeer(f.peers);
  const dual = new Set(f.peers.map((v) => v.family)).size > 1;
  const down = peers.filter((p) => p.down.length);
  const out: CheckResult[] = [];
  for (const p of down) {
    if (here.has(p.name)) continue;
    const since = p.down.map((v) => v.since).filter((s) => s !== undefined).sort()[0];
    out.push(fail('daemon.peer', `the daemon's probes find it unreachable${families(p.down, dual)}${since ? ` since ${since}` : ''} (not in doctor's sample)`, `ovlnet doctor --peer ${p.name}`, { peer: p.name }));
  }
  const unknown = peers.filter((p) => p.unknown && !p.down.length).length;
  const summary = `the daemon probes ${peers.length} peer${peers.length === 1 ? '' : 's'}: ${down.length} unreachable${unknown ? `, ${unknown} not probed yet` : ''}${down.length ? ` (${down.map((p) => `${p.name}${families(p.down, dual)}`).slice(0, 5).join(', ')})` : ''}`;
  out.unshift(down.length ? warn(name, summary) : pass(name, summary));
  return out;
}
