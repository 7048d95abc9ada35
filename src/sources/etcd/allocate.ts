// Subnet allocation as flannel does it (pkg/subnet/etcd): which subnets a
// node may hold, which free one it takes. Pure.
import { randomInt } from 'node:crypto';
import { ConfigError } from '../../errors.js';
import {
  bits, ipFromValue, makePrefix, mask, parseIP, prefixContains, prefixContainsIP, type Family, type IP, type Prefix,
} from '../../model/ip.js';
import type { NetworkConfig, RawConfig } from '../../model/types.js';

/** flannel picks a new subnet at random among the first this many free ones. */
export const FREE_CANDIDATES = 100;

export interface SubnetRange {
  network: Prefix;
  /** Length of the subnets handed out. */
  len: number;
  min: IP;
  max: IP;
}

function rawIPField(v: unknown, field: string, origin: string): IP | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ip = parseIP(v);
  if (!ip || ip.family !== 4) throw new ConfigError(`${origin}: ${field} ${JSON.stringify(v).slice(0, 40)} is not an IPv4 address`);
  return ip.value === 0n ? undefined : ip;
}

function defaultRange(network: Prefix, len: number): { min: IP; max: IP } {
  const size = 1n << BigInt(bits(network.family) - len);
  const end = network.addr.value + (1n << BigInt(bits(network.family) - network.len));
  return { min: ipFromValue(network.family, network.addr.value + size), max: ipFromValue(network.family, end - size) };
}

/** SubnetMin/SubnetMax as flannel computes them: the second and the last subnet by default. */
export function subnetRange(config: NetworkConfig, raw: RawConfig): SubnetRange {
  const net = config.network;
  const d = defaultRange(net, config.subnetLen);
  const min = rawIPField(raw.subnetMin, 'SubnetMin', raw.origin) ?? d.min;
  const max = rawIPField(raw.subnetMax, 'SubnetMax', raw.origin) ?? d.max;
  for (const [field, ip] of [['SubnetMin', min], ['SubnetMax', max]] as const) {
    if (!prefixContainsIP(net, ip)) throw new ConfigError(`${raw.origin}: ${field} ${ip.text} is not in the Network ${net.text}`);
    if ((ip.value & mask(4, config.subnetLen)) !== ip.value) {
      throw new ConfigError(`${raw.origin}: ${field} ${ip.text} is not on a /${config.subnetLen} boundary`);
    }
  }
  if (min.value > max.value) throw new ConfigError(`${raw.origin}: SubnetMin ${min.text} is above SubnetMax ${max.text}`);
  return { network: net, len: config.subnetLen, min, max };
}

/** The IPv6 range of a dual-stack network: flannel's defaults (second to last subnet). */
export function subnetRange6(config: NetworkConfig): SubnetRange | undefined {
  if (!config.ipv6) return undefined;
  const { network, subnetLen } = config.ipv6;
  return { network, len: subnetLen, ...defaultRange(network, subnetLen) };
}

/**
 * Whether a lease's subnet may be kept under the config: the right family and
 * length, inside the network and inside SubnetMin..SubnetMax (flannel
 * re-allocates a lease that no longer fits).
 */
export function fitsRange(subnet: Prefix, range: SubnetRange): boolean {
  return subnet.family === range.network.family && subnet.len === range.len && prefixContains(range.network, subnet)
    && subnet.addr.value >= range.min.value && subnet.addr.value <= range.max.value;
}

/**
 * The first `limit` free subnets of the range, in address order, avoiding
 * every taken prefix (leases, reservations, keys of any length). Taken
 * blocks are jumped over, so the walk is bounded by limit + taken.length
 * steps even in a huge (IPv6) range.
 */
export function firstFreeSubnets(range: SubnetRange, taken: Prefix[], limit = FREE_CANDIDATES): Prefix[] {
  const family: Family = range.network.family;
  const width = BigInt(bits(family));
  const size = 1n << (width - BigInt(range.len));
  const blocks = taken.filter((p) => p.family === family).map((p) => {
    const start = p.addr.value & mask(family, p.len);
    return [start, start + (1n << (width - BigInt(p.len))) - 1n] as const;
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Prefix[] = [];
  let s = range.min.value;
  let i = 0;
  while (out.length < limit && s <= range.max.value) {
    const e = s + size - 1n;
    while (i < blocks.length && blocks[i][1] < s) i++;
    // Blocks are sorted by start: only those starting by e can overlap [s, e].
    let hit: readonly [bigint, bigint] | undefined;
    for (let j = i; j < blocks.length && blocks[j][0] <= e && !hit; j++) if (blocks[j][1] >= s) hit = blocks[j];
    if (!hit) {
      out.push(makePrefix(ipFromValue(family, s), range.len));
      s += size;
    } else {
      // Jump to the first subnet boundary after the taken block.
      const next = hit[1] + 1n;
      s = range.min.value + ((next - range.min.value + size - 1n) / size) * size;
    }
  }
  return out;
}

/** flannel's choice: a random one of the first FREE_CANDIDATES free subnets. */
export function pickFreeSubnet(range: SubnetRange, taken: Prefix[], rand: (n: number) => number = randomInt): Prefix | undefined {
  const free = firstFreeSubnets(range, taken);
  return free.length ? free[rand(free.length)] : undefined;
}
