// Per-peer reachability: one probe through the overlay (DF set, at the
// overlay MTU, so it covers neighbour, fdb, route, the peer's firewall, the
// UDP port and the path MTU), one on the underlay (the peer's public IP), so
// "underlay down" is told from "overlay blocked". Pure: recorded probe
// outcomes in, check results out; which peers to probe is decided here too.
import { fail, pass, warn, type CheckResult, type ProbeOutcome } from '../types.js';

/** Up to this many peers every one is probed; above it, a random sample of this size. */
export const PROBE_ALL_UP_TO = 64;

export interface PeerProbe {
  name: string;
  /** The address probed through the overlay (the peer's VTEP, or its pod gateway for host-gw). */
  target: string;
  publicIP: string;
  /** Full size (overlay MTU) with DF set. */
  overlay: ProbeOutcome;
  /** A small packet to the same address, probed only when the full-size one failed. */
  small?: ProbeOutcome;
  underlay: ProbeOutcome;
  /** Dual stack: the IPv6 half is a probe of its own, through its own device at its MTU. */
  device?: string;
  mtu?: number;
}

export interface PeerFacts {
  /** The device the overlay probes leave through (flannel.1, flannel0, or the underlay for host-gw). */
  device: string;
  mtu: number;
  /** The backend's UDP port, for hints (undefined for host-gw). */
  port?: number;
  /** Peers in the plan. */
  total: number;
  probed: PeerProbe[];
  /** Whether `probed` is a random sample (more than PROBE_ALL_UP_TO peers). */
  sampled: boolean;
  /** --peer names that are not peers in the plan. */
  unknownRequested: string[];
  /**
   * Failed checks of this host that stop every overlay probe (INPUT dropping
   * the port, the underlay down, an MTU the underlay can not carry): overlay
   * failures are then this host's, not the peers'.
   */
  localBlockers: CheckResult[];
  /** Peers whose routing check failed (routing.peer: this host sends their subnet elsewhere): their overlay failure is explained by it. */
  misrouted?: ReadonlySet<string>;
}

/**
 * The peers to probe: all of them up to `limit`, else a random sample of
 * `limit` plus every one asked for by name. `random` returns [0, 1).
 */
export function samplePeers<T extends { name: string }>(peers: T[], requested: string[], limit = PROBE_ALL_UP_TO, random: () => number = Math.random): { chosen: T[]; sampled: boolean; unknown: string[] } {
  const names = new Set(peers.map((p) => p.name));
  const unknown = requested.filter((r) => !names.has(r));
  if (peers.length <= limit) return { chosen: peers, sampled: false, unknown };
  const pool = [...peers];
  // Partial Fisher-Yates: the first `limit` places hold a uniform sample.
  for (let i = 0; i < limit; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const chosen = pool.slice(0, limit);
  const have = new Set(chosen.map((p) => p.name));
  const wanted = new Set(requested);
  for (const p of peers) if (wanted.has(p.name) && !have.has(p.name)) chosen.push(p);
  return { chosen, sampled: true, unknown };
}

function why(o: ProbeOutcome): string {
  return o.error ? ` (${o.error})` : '';
}

export function peerChecks(f: PeerFacts): CheckResult[] {
  const out: CheckResult[] = [];
  for (const name of f.unknownRequested) out.push(warn('peer.requested', `--peer ${name}: not a peer in the plan`, 'list the nodes: ovlnet nodes', { peer: name }));
  if (f.total === 0) {
    out.push(pass('peers.probed', 'no peers in the plan'));
    return out;
  }
  const dfSize = (p?: PeerProbe) => `DF packets of ${p?.mtu ?? f.mtu} bytes`;
  const deviceOf = (p: PeerProbe) => p.device ?? f.device;
  // A peer answers when every probe of it does (both halves in dual stack).
  const names = [...new Set(f.probed.map((p) => p.name))];
  const failing = new Set(f.probed.filter((p) => !p.overlay.ok).map((p) => p.name));
  const devices = [...new Set(f.probed.map(deviceOf))];
  const how = f.sampled ? `a random sample of ${names.length} of ${f.total} peers (add one with --peer NAME)` : `${names.length} of ${f.total} peers`;
  const summary = `probed ${how}: ${names.length - failing.size} answer through ${devices.length ? devices.join(' and ') : f.device} (${dfSize()}${devices.length > 1 ? ' for IPv4' : ''})`;
  out.push(failing.size === 0 ? pass('peers.probed', summary) : warn('peers.probed', summary));

  const overlayOnly: PeerProbe[] = [];
  // This host's underlay down: every underlay probe fails too, and is this host's failure.
  const underlayHere = f.localBlockers.some((c) => c.name === 'host.underlay');
  for (const p of f.probed) {
    const subject = { peer: p.name };
    if (p.overlay.ok) {
      if (!p.underlay.ok && !underlayHere) {
        out.push(warn('peer.underlay', `the overlay answers, but ${p.publicIP} does not answer ping on the underlay${why(p.underlay)}`, 'ICMP filtered between the nodes? only worth a look if other checks fail', subject));
      }
      continue;
    }
    if (!p.underlay.ok && !underlayHere) {
      out.push(fail('peer.underlay', `underlay down: ${p.publicIP} does not answer${why(p.underlay)}, and nor does ${p.target} through ${deviceOf(p)}`,
        `is the node up? ip route get ${p.publicIP}; ping ${p.publicIP}`, subject));
      continue;
    }
    overlayOnly.push(p);
  }
  if (overlayOnly.length && f.localBlockers.length) {
    const blocked = new Set(overlayOnly.map((p) => p.name)).size;
    out.push(fail('peers.overlay', `${blocked} of ${names.length} probed peers do not answer through ${devices.join(' and ') || f.device}, explained by this host: ${f.localBlockers.map((c) => c.name).join(', ')}`,
      'fix the checks named first; then run doctor again'));
    return out;
  }
  for (const p of overlayOnly) {
    const subject = { peer: p.name };
    if (f.misrouted?.has(p.name)) {
      // The probe followed this host's wrong route: the peer and the path to it are not to blame.
      out.push(fail('peer.overlay', `${p.target} does not answer through ${deviceOf(p)}, explained by routing.peer (this host routes it elsewhere); ${p.publicIP} answers on the underlay`,
        'fix the route routing.peer names; then run doctor again', subject));
    } else if (p.overlay.error && /^(connect|sendmsg|local error)|Network is unreachable|No route to host/.test(p.overlay.error) && !p.small?.ok) {
      // ping itself could not send: the cause is on this host (its routes or rules), not the peer.
      out.push(fail('peer.overlay', `this host can not send to ${p.target}: ${p.overlay.error}; ${p.publicIP} answers on the underlay`,
        `ip route get ${p.target}; ip rule show`, subject));
    } else if (p.small?.ok) {
      out.push(fail('peer.mtu', `path MTU: ${dfSize(p)} to ${p.target} are lost, small ones pass; ${p.publicIP} answers on the underlay`,
        `the underlay between here and ${p.publicIP} must carry ${p.mtu ?? f.mtu} bytes plus the encapsulation: compare "ip link show" MTUs on both nodes`, subject));
    } else {
      const port = f.port ? `UDP ${f.port} allowed there (${p.target.includes(':') ? 'ip6tables-save' : 'iptables-save'} | grep ${f.port})? ` : '';
      out.push(fail('peer.overlay', `overlay blocked: ${p.publicIP} answers on the underlay, ${p.target} does not answer through ${deviceOf(p)}${why(p.overlay)}`,
        `${port}run ovlnet doctor on ${p.name}`, subject));
    }
  }
  return out;
}
