// All of doctor's decisions, from the facts gathered: which checks pass,
// warn or fail, and the verdict. Pure.
import { daemonChecks, type DaemonFacts } from './checks/daemon.js';
import { hostChecks, localBlockers, type HostFacts } from './checks/host.js';
import { peerChecks, type PeerFacts } from './checks/peers.js';
import { routingChecks, type RoutingFacts } from './checks/routing.js';
import { sourceChecks, type SourceFacts } from './checks/source.js';
import { stateChecks, type StateFacts } from './checks/state.js';
import type { CheckResult } from './types.js';

export interface DoctorFacts {
  state: StateFacts;
  source: SourceFacts;
  host: HostFacts;
  routing: RoutingFacts;
  peers: Omit<PeerFacts, 'localBlockers'>;
  daemon?: DaemonFacts;
  /** The backend's own rows (Backend.doctor), decided from the snapshot when gathered. */
  backend?: CheckResult[];
}

export interface DoctorReport {
  version: 1;
  ok: boolean;
  checks: CheckResult[];
}

export function decide(f: DoctorFacts): DoctorReport {
  const host = [...hostChecks(f.host), ...(f.backend ?? [])];
  const routing = routingChecks(f.routing);
  const misrouted = new Set(routing.filter((c) => c.name === 'routing.peer' && c.status === 'fail' && c.peer).map((c) => c.peer!));
  const checks = [
    ...stateChecks(f.state),
    ...sourceChecks(f.source),
    ...host,
    ...routing,
    ...peerChecks({ ...f.peers, localBlockers: localBlockers(host), misrouted }),
    ...daemonChecks(f.daemon),
  ];
  return { version: 1, ok: !checks.some((c) => c.status === 'fail'), checks };
}
