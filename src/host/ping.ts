// One ICMP echo, bounded in time, from inside the network namespace: what
// `ovlnet doctor` and the daemon's probes send. One process per probe: these
// are a few bounded probes, not a per-object write.
import { run } from './exec.js';
import { parsePing, type PingOutcome } from './parse-ping.js';

export interface PingOptions {
  /** The ICMP payload; the packet is 28 bytes longer (IPv4 and ICMP headers). */
  payload?: number;
  /** Set DF (no fragmentation anywhere): the probe then tests the path MTU. */
  dontFragment?: boolean;
  /** How long to wait for the answer, in whole seconds. */
  waitS?: number;
}

/** ICMP headers a ping packet adds to its payload: IPv4 20 + ICMP 8 (IPv6 40 + 8). */
export function pingOverhead(target: string): number {
  return target.includes(':') ? 48 : 28;
}

export async function ping(netns: string | undefined, target: string, o: PingOptions = {}): Promise<PingOutcome> {
  const wait = o.waitS ?? 1;
  const args = ['-n', '-c', '1', '-W', String(wait), ...(o.dontFragment ? ['-M', 'do'] : []), ...(o.payload !== undefined ? ['-s', String(o.payload)] : []), target];
  // The process gets a second more than ping's own wait, then is killed.
  const r = await run('ping', args, { netns, timeoutMs: (wait + 1) * 1000 });
  return parsePing(r.exitCode, r.stdout, r.stderr);
}
