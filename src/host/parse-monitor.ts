// Parses the text that `ip -N monitor label link route neigh` and
// `bridge monitor fdb` print, one event per line. iproute2 6.1 ignores `-j`
// for monitors (it prints text), so the text form is parsed here; the
// recorded output in test/fixtures/host/monitor/ is what the tests read.
// Pure: a line in, an event (or undefined for a line that is not one) out.
//
// Only what the daemon's kernel model holds is kept: main-table routes,
// neighbours, vxlan fdb entries with a remote destination, and a device's
// name, index and admin state. Anything else parses to undefined.
import { makePrefix, parseIP, parsePrefix, type IP, type Prefix } from '../model/ip.js';
import { parseMAC, type MAC } from '../model/mac.js';
import type { HostRoute } from '../model/types.js';

export type KernelEvent =
  | { kind: 'route'; deleted: boolean; route: HostRoute }
  | { kind: 'neigh'; deleted: boolean; dev: string; ip: IP; mac?: MAC; states: string[] }
  | { kind: 'fdb'; deleted: boolean; dev: string; mac: MAC; dst: IP; permanent: boolean; self: boolean }
  | { kind: 'link'; deleted: boolean; name: string; index: number; up: boolean };

/** `-N` prints a route's type as its number; the kernel's RTN_* names for the ones that matter in messages. */
const ROUTE_TYPES: Record<string, string> = { '2': 'local', '3': 'broadcast', '4': 'anycast', '5': 'multicast', '6': 'blackhole', '7': 'unreachable', '8': 'prohibit', '9': 'throw', '10': 'nat' };
const ROUTE_TYPE_NAMES = new Set([...Object.values(ROUTE_TYPES), 'unicast']);
/** Route attributes followed by a value: skipped with it when not read. */
const ROUTE_VALUED = new Set(['via', 'dev', 'table', 'proto', 'scope', 'src', 'metric', 'pref', 'mtu', 'expires', 'tos', 'realms', 'nhid', 'from', 'advmss', 'hoplimit', 'initcwnd', 'initrwnd', 'rto_min', 'quickack', 'congctl', 'features', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd']);

function splitDeleted(text: string): [boolean, string] {
  return text.startsWith('Deleted ') ? [true, text.slice(8)] : [false, text];
}

function hostPrefix(s: string): Prefix | undefined {
  if (s === 'default') return undefined;
  if (s.includes('/')) return parsePrefix(s);
  const ip = parseIP(s);
  return ip ? makePrefix(ip, ip.family === 4 ? 32 : 128) : undefined;
}

/** One line of `ip -N monitor label link route neigh`; undefined for a continuation line or anything not modelled. */
export function parseIpMonitorLine(line: string): KernelEvent | undefined {
  const m = /^\[(LINK|ROUTE|NEIGH)\](.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const [deleted, rest] = splitDeleted(m[2]);
  if (m[1] === 'ROUTE') return parseRoute(deleted, rest);
  if (m[1] === 'NEIGH') return parseNeigh(deleted, rest);
  return parseLink(deleted, rest);
}

function parseRoute(deleted: boolean, text: string): KernelEvent | undefined {
  const t = text.split(/\s+/).filter(Boolean);
  let i = 0;
  let type: string | undefined;
  // A non-unicast route starts with its type: a number under -N, a name without it.
  if (t[i] !== undefined && (/^\d+$/.test(t[i]) || ROUTE_TYPE_NAMES.has(t[i]))) {
    const name = ROUTE_TYPES[t[i]] ?? t[i];
    if (name !== 'unicast' && t[i] !== '1') type = name;
    i++;
  }
  const dstText = t[i++];
  if (dstText === undefined) return undefined;
  // Only the main table is modelled; `ip` names no table for it.
  const table = attr(t, 'table');
  if (table !== undefined && table !== '254' && table !== 'main') return undefined;
  const dst = dstText === 'default' ? undefined : hostPrefix(dstText);
  if (!dst) return undefined;
  const proto = attr(t, 'proto');
  const route: HostRoute = {
    dst,
    via: parseIP(attr(t, 'via')),
    dev: attr(t, 'dev'),
    onlink: t.includes('onlink'),
    // `ip` prints no protocol for "boot" routes (3).
    proto: proto === undefined ? 3 : /^\d+$/.test(proto) ? Number(proto) : -1,
    type,
  };
  return { kind: 'route', deleted, route };
}

/** The value after `name` among a route's or neighbour's words (only where a word is a keyword, not a value). */
function attr(words: string[], name: string): string | undefined {
  for (let i = 1; i < words.length - 1; i++) {
    if (words[i] === name) return words[i + 1];
    if (ROUTE_VALUED.has(words[i]) || words[i] === 'lladdr') i++;
  }
  return undefined;
}

function parseNeigh(deleted: boolean, text: string): KernelEvent | undefined {
  const t = text.split(/\s+/).filter(Boolean);
  // `miss` lines and proxy entries are not neighbours ovlnet writes.
  const ip = parseIP(t[0]);
  const dev = attr(t, 'dev');
  if (!ip || !dev) return undefined;
  const lladdr = attr(t, 'lladdr');
  const states = t.filter((w) => /^[A-Z_]+$/.test(w));
  return { kind: 'neigh', deleted, dev, ip, mac: lladdr ? parseMAC(lladdr) : undefined, states };
}

function parseLink(deleted: boolean, text: string): KernelEvent | undefined {
  const m = /^(\d+): ([^:@\s]+)(?:@[^:\s]*)?: <([^>]*)>/.exec(text);
  if (!m) return undefined;
  return { kind: 'link', deleted, name: m[2], index: Number(m[1]), up: m[3].split(',').includes('UP') };
}

/** One line of `bridge monitor fdb`; undefined for entries without a remote destination (a vxlan device's). */
export function parseBridgeFdbLine(line: string): KernelEvent | undefined {
  const [deleted, rest] = splitDeleted(line.trim());
  const t = rest.split(/\s+/).filter(Boolean);
  const mac = parseMAC(t[0]);
  const dev = attr(t, 'dev');
  const dst = parseIP(attr(t, 'dst'));
  if (!mac || !dev || !dst) return undefined;
  return { kind: 'fdb', deleted, dev, mac, dst, permanent: t.includes('permanent'), self: t.includes('self') };
}
