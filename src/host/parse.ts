// Parsers for `ip -j` / `bridge -j` output. Pure, tested against recorded
// fixtures. Anything unexpected in the kernel's answer is skipped, not trusted.
import { makePrefix, parseIP, parsePrefix, type Prefix } from '../model/ip.js';
import { parseMAC } from '../model/mac.js';
import type { FdbEntry, HostLink, HostRoute, NeighEntry } from '../model/types.js';

export type { HostRoute };

/** `ip -batch` with -j prints one JSON array per command, separated by newlines. */
export function splitJsonArrays(text: string): unknown[][] {
  // iproute2 prints each command's answer on one line; JSON.parse per line is
  // native code, the character scan below is not (about 10x slower on the
  // megabytes a 10 000-peer host answers). Any line that is not one whole JSON
  // value sends the text to the scan, so the result is the same either way.
  const fast = splitJsonLines(text);
  if (fast) return fast;
  const out: unknown[][] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

function splitJsonLines(text: string): unknown[][] | undefined {
  const out: unknown[][] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // Blank and space around the value are skipped by index, not trimmed into a copy.
    let a = start;
    let b = end;
    while (a < b && isSpace(text.charCodeAt(a))) a++;
    while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
    start = end + 1;
    if (a === b) continue;
    const c = text.charCodeAt(a);
    const last = text.charCodeAt(b - 1);
    if (!((c === 91 && last === 93) || (c === 123 && last === 125))) return undefined;
    try {
      out.push(JSON.parse(a === 0 && b === text.length ? text : text.slice(a, b)));
    } catch {
      return undefined;
    }
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

type J = Record<string, any>;

export function parseLinks(arr: unknown[]): Map<string, HostLink> {
  const links = new Map<string, HostLink>();
  for (const o of arr as J[]) {
    if (typeof o?.ifname !== 'string') continue;
    const info = o.linkinfo?.info_data;
    const kind = typeof o.linkinfo?.info_kind === 'string' ? o.linkinfo.info_kind : undefined;
    const addrs: Prefix[] = [];
    for (const a of (o.addr_info ?? []) as J[]) {
      // Link-local addresses are the kernel's own, never ovlnet's.
      // (`ip -N` prints scopes as numbers: 253 link, 254 host.)
      const scope = String(a.scope);
      if (scope === 'link' || scope === '253' || ((scope === 'host' || scope === '254') && a.family === 'inet6')) continue;
      const ip = parseIP(a.local);
      if (ip && Number.isInteger(a.prefixlen)) addrs.push(makePrefix(ip, a.prefixlen));
    }
    links.set(o.ifname, {
      name: o.ifname,
      index: o.ifindex,
      mtu: o.mtu,
      mac: parseMAC(o.address),
      up: Array.isArray(o.flags) && o.flags.includes('UP'),
      kind,
      vxlan: kind === 'vxlan' && info ? {
        id: info.id,
        local: parseIP(info.local ?? info.local6),
        link: typeof info.link === 'string' ? info.link : undefined,
        port: info.port,
        learning: info.learning === true,
        ...(info.gbp === true ? { gbp: true } : {}),
      } : undefined,
      // Only on tun/tap devices, so other links keep their shape.
      ...(kind === 'tun' && info ? {
        tun: { type: String(info.type), pi: info.pi === true, persist: info.persist === true, multiQueue: info.multi_queue === true },
      } : {}),
      addrs,
    });
  }
  return links;
}

const PROTO_NAMES: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4, ra: 9, dhcp: 16 };

/** RTN_* route types (linux/rtnetlink.h), as `ip -N` prints them. */
const ROUTE_TYPE_NAMES: Record<string, string> = {
  '2': 'local', '3': 'broadcast', '4': 'anycast', '5': 'multicast', '6': 'blackhole',
  '7': 'unreachable', '8': 'prohibit', '9': 'throw', '10': 'nat', '11': 'xresolve',
};

export function parseRoutes(arr: unknown[]): HostRoute[] {
  const routes: HostRoute[] = [];
  for (const o of arr as J[]) {
    if (typeof o?.dst !== 'string') continue;
    const dst = o.dst === 'default' ? parsePrefix('0.0.0.0/0') : o.dst.includes('/') ? parsePrefix(o.dst) : (() => {
      const ip = parseIP(o.dst);
      return ip ? makePrefix(ip, ip.family === 4 ? 32 : 128) : undefined;
    })();
    if (!dst) continue;
    routes.push({
      dst,
      via: parseIP(o.gateway),
      dev: typeof o.dev === 'string' ? o.dev : undefined,
      onlink: Array.isArray(o.flags) && o.flags.includes('onlink'),
      proto: protoOf(o.protocol),
      // `-d` prints the type of every route; only non-unicast ones matter.
      // `-N` prints it as a number: name it, since it ends up in messages.
      type: typeof o.type === 'string' && o.type !== 'unicast' && o.type !== '1' ? ROUTE_TYPE_NAMES[o.type] ?? o.type : undefined,
    });
  }
  return routes;
}

/** `ip` omits the protocol for "boot" routes; -N prints it as a number. */
function protoOf(p: unknown): number {
  if (p === undefined) return 3;
  if (typeof p === 'string' && p.length > 0 && p.length <= 3) {
    let n = 0;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 48 || c > 57) return PROTO_NAMES[p] ?? -1;
      n = n * 10 + c - 48;
    }
    return n;
  }
  return /^[0-9]+$/.test(p as string) ? Number(p) : PROTO_NAMES[p as string] ?? -1;
}

export function parseNeighbors(arr: unknown[]): NeighEntry[] {
  const out: NeighEntry[] = [];
  for (const o of arr as J[]) {
    if (!Array.isArray(o?.state) || !o.state.includes('PERMANENT')) continue;
    const ip = parseIP(o.dst);
    const mac = parseMAC(o.lladdr);
    if (ip && mac && typeof o.dev === 'string') out.push({ kind: 'neigh', dev: o.dev, ip, mac });
  }
  return out;
}

/** `bridge -j fdb show dev DEV`: entries with a remote destination, as flannel writes them. */
export function parseFdb(arr: unknown[], dev: string): FdbEntry[] {
  const out: FdbEntry[] = [];
  for (const o of arr as J[]) {
    if (o?.state !== 'permanent' || !Array.isArray(o.flags) || !o.flags.includes('self')) continue;
    const mac = parseMAC(o.mac);
    const dst = parseIP(o.dst);
    if (mac && dst) out.push({ kind: 'fdb', dev: typeof o.ifname === 'string' ? o.ifname : dev, mac, dst });
  }
  return out;
}
