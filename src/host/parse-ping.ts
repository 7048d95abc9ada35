// What one `ping -c 1` said: answered (with its round trip) or not, and why
// not when ping says so. Pure.

export interface PingOutcome {
  ok: boolean;
  rttMs?: number;
  error?: string;
}

export function parsePing(exitCode: number, stdout: string, stderr: string): PingOutcome {
  const rtt = /time[=<]([0-9.]+) ?ms/.exec(stdout);
  if (exitCode === 0) return rtt ? { ok: true, rttMs: Number(rtt[1]) } : { ok: true };
  // "ping: local error: message too long, mtu=1400", "From 192.0.2.10 icmp_seq=1 Destination Host Unreachable",
  // "ping: sendmsg: Operation not permitted" (a local firewall REJECT/DROP on OUTPUT).
  const text = `${stderr}\n${stdout}`;
  const local = /ping: (?:local error: )?([^\n]+)/.exec(text);
  const from = /From \S+ icmp_seq=\d+ ([^\n]+)/.exec(text);
  const error = from?.[1].trim() ?? local?.[1].trim();
  return error ? { ok: false, error } : { ok: false };
}
