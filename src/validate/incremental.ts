// The validate step's incremental form: what the cluster-wide rules
// (overlaps.ts, macs.ts, duplicate names) need to know about the other nodes,
// kept across the daemon's cycles as counts, so a cluster event on one node
// asks "does it collide with anyone?" in constant time instead of sorting
// the whole cluster again.
//
// It answers only that question. When the answer is yes (the node, old or
// new, overlaps a subnet, shares a VTEP MAC, is a duplicate name), the rules
// decide between several nodes, and the caller replans in full: those
// decisions depend on which of them is programmed here and on source order,
// and are rare. Pure.
import type { Prefix } from '../model/ip.js';
import type { Node, NodeFamily } from '../model/types.js';

/**
 * Aligned prefixes inside a network, counted by prefix and by every
 * ancestor down to the network: P overlaps another prefix when another one
 * is P itself, one of P's ancestors, or lies below P. Each add or remove
 * touches at most (P's length - the network's length) counters.
 */
export class PrefixCounts {
  private readonly exact = new Map<string, number>();
  private readonly below = new Map<string, number>();

  constructor(private readonly networkLen: number) {}

  /** The text key of P's ancestor of length `len` (len <= P.len). */
  private static ancestor(p: Prefix, len: number): string {
    if (p.family === 4) {
      const n = Number(p.addr.value);
      const size = 2 ** (32 - len);
      return `${n - (n % size)}/${len}`;
    }
    return `${p.addr.value >> BigInt(128 - len)}/${len}`;
  }

  private bump(p: Prefix, by: number): void {
    const own = PrefixCounts.ancestor(p, p.len);
    this.exact.set(own, (this.exact.get(own) ?? 0) + by);
    for (let l = this.networkLen; l < p.len; l++) {
      const k = PrefixCounts.ancestor(p, l);
      this.below.set(k, (this.below.get(k) ?? 0) + by);
    }
  }

  add(p: Prefix): void {
    this.bump(p, 1);
  }

  remove(p: Prefix): void {
    this.bump(p, -1);
  }

  /** Whether P overlaps a prefix counted here other than one copy of P itself (`counted`: P is counted). */
  overlapsOther(p: Prefix, counted: boolean): boolean {
    if ((this.exact.get(PrefixCounts.ancestor(p, p.len)) ?? 0) > (counted ? 1 : 0)) return true;
    if ((this.below.get(PrefixCounts.ancestor(p, p.len)) ?? 0) > 0) return true;
    for (let l = this.networkLen; l < p.len; l++) if ((this.exact.get(PrefixCounts.ancestor(p, l)) ?? 0) > 0) return true;
    return false;
  }
}

class Counts {
  private readonly m = new Map<string, number>();
  add(k: string, by = 1): void {
    const n = (this.m.get(k) ?? 0) + by;
    if (n) this.m.set(k, n);
    else this.m.delete(k);
  }
  get(k: string): number {
    return this.m.get(k) ?? 0;
  }
}

/**
 * The valid nodes of the cluster (the local node included), indexed for the
 * cluster-wide rules. `networkLen`/`network6Len`: the pod networks' lengths
 * (subnets are validated to lie inside them).
 */
export class CollisionIndex {
  private readonly subnets: PrefixCounts;
  private readonly subnets6: PrefixCounts | undefined;
  private readonly macs = new Counts();
  private readonly macs6 = new Counts();

  constructor(networkLen: number, network6Len?: number) {
    this.subnets = new PrefixCounts(networkLen);
    this.subnets6 = network6Len === undefined ? undefined : new PrefixCounts(network6Len);
  }

  /** The node's IPv6 half as validate/index.ts sees it, when the cluster is dual-stack. */
  private v6(n: Node): NodeFamily | undefined {
    return this.subnets6 ? n.v6 : undefined;
  }

  add(n: Node): void {
    this.subnets.add(n.subnet);
    this.macs.add(n.vtepMAC.text);
    const v6 = this.v6(n);
    if (v6) {
      this.subnets6!.add(v6.subnet);
      this.macs6.add(v6.vtepMAC.text);
    }
  }

  remove(n: Node): void {
    this.subnets.remove(n.subnet);
    this.macs.add(n.vtepMAC.text, -1);
    const v6 = this.v6(n);
    if (v6) {
      this.subnets6!.remove(v6.subnet);
      this.macs6.add(v6.vtepMAC.text, -1);
    }
  }

  /**
   * `old` leaves and `now` comes (either may be absent; both: the same
   * node's two versions). A node whose subnets stay the same (a new VTEP MAC,
   * the usual event) keeps its subnet counts: each is a key per ancestor
   * prefix, 15 of them for a /30 in a /16, built twice.
   */
  replace(old: Node | undefined, now: Node | undefined): void {
    if (old && now && old.subnet.text === now.subnet.text && this.v6(old)?.subnet.text === this.v6(now)?.subnet.text) {
      this.macs.add(old.vtepMAC.text, -1);
      this.macs.add(now.vtepMAC.text);
      const [o6, n6] = [this.v6(old), this.v6(now)];
      if (o6) this.macs6.add(o6.vtepMAC.text, -1);
      if (n6) this.macs6.add(n6.vtepMAC.text);
      return;
    }
    if (old) this.remove(old);
    if (now) this.add(now);
  }

  /**
   * Why `n` (counted here) would take part in a cluster-wide rule: its subnet
   * overlaps another node's, or its VTEP MAC is another node's (either family);
   * undefined when it collides with no one.
   */
  collision(n: Node): string | undefined {
    if (this.subnets.overlapsOther(n.subnet, true)) return `${n.name}: subnet ${n.subnet.text} overlaps another node's`;
    if (this.macs.get(n.vtepMAC.text) > 1) return `${n.name}: VTEP MAC ${n.vtepMAC.text} is another node's too`;
    const v6 = this.v6(n);
    if (v6 && this.subnets6!.overlapsOther(v6.subnet, true)) return `${n.name}: IPv6 subnet ${v6.subnet.text} overlaps another node's`;
    if (v6 && this.macs6.get(v6.vtepMAC.text) > 1) return `${n.name}: IPv6 VTEP MAC ${v6.vtepMAC.text} is another node's too`;
    return undefined;
  }
}
