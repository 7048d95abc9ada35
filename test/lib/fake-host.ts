// A Host without a kernel: the engine's reads and writes against an
// in-memory ActualState, for unit tests of the engine and the daemon's cycle
// (no root, milliseconds). Routes, neighbours and fdb entries change through
// the daemon's own pure kernel model (applyToActual); devices and addresses
// as the kernel does it: a new or deleted device takes everything on it
// along, a new device MAC flushes its neighbours; iptables rules as
// iptables-restore --noflush applies the batch's input. Writes can be made to fail
// (reported, like a kernel error) or to be lost (reported fine, but a
// re-read shows them missing).
import { applyToActual } from '../../src/daemon/kernel-model.js';
import type { Batch } from '../../src/engine/batches.js';
import type { Host, HostRead, ReadScope, WritePhases } from '../../src/engine/host.js';
import type { Failure, WriteResult } from '../../src/host/write.js';
import { entryKey, entryOf } from '../../src/kinds/index.js';
import type { ActualState, Change, HostLink, LinkEntry, NetfilterState, OffloadEntry, TableState, TunEntry, WgDeviceRead } from '../../src/model/types.js';

export interface FakeHostCounts {
  /** Full reads of links, addresses, routes, neighbours and fdb. */
  kernelReads: number;
  /** Reads of offload features, sysctl settings or the nat table alone. */
  extraReads: number;
  /** write() calls with something to write. */
  writes: number;
}

export class FakeHost implements Host {
  state: ActualState;
  offload: OffloadEntry[] = [];
  /** Pinned sysctl settings by entry key; a device's unset ones read as sysctlDefault (undefined: no IPv6). */
  sysctl = new Map<string, number>();
  sysctlDefault: number | undefined = 1;
  /** Both families' nat and filter tables. */
  netfilter: NetfilterState = {};
  /** WireGuard devices as `wg show dump` reads them (a device created by the fake is a kernel one). */
  wireguard = new Map<string, WgDeviceRead>();
  counts: FakeHostCounts = { kernelReads: 0, extraReads: 0, writes: 0 };
  /** Every change written, in order. */
  written: Change[] = [];
  /** The kinds keys of each write() call with something to write, in order. */
  writeCalls: string[][] = [];
  /** Keys whose writes fail, as a kernel error would. */
  readonly failKeys = new Set<string>();
  /** Keys whose writes are reported done but do not take. */
  readonly loseKeys = new Set<string>();
  private nextIndex = 100;

  constructor(state: ActualState) {
    this.state = copyState(state);
  }

  async read(scope: ReadScope): Promise<HostRead> {
    const out: HostRead = {};
    if (scope.kernel) {
      this.counts.kernelReads++;
      const kernel = copyState(this.state);
      // Device names still coming (a source being read) are waited for after the copy, as the real read's ip part does not wait.
      const names = scope.kernel.fdbDevices;
      const devs = new Set(Array.isArray(names) ? names : await names);
      kernel.fdb = kernel.fdb.filter((f) => devs.has(f.dev) && kernel.links.has(f.dev));
      out.kernel = kernel;
    } else if (scope.links) {
      out.links = copyState(this.state).links;
    } else {
      this.counts.extraReads++;
    }
    for (const { dev, features } of scope.offload ?? []) {
      (out.offload ??= []).push(...this.offload.filter((o) => o.dev === dev && features.includes(o.feature)).map((o) => ({ ...o })));
    }
    if (scope.sysctl) out.sysctl = new Map(scope.sysctl.map((e) => [entryKey(e), this.state.links.has(e.dev) ? this.sysctl.get(entryKey(e)) ?? this.sysctlDefault : undefined]));
    if (scope.netfilter) out.netfilter = structuredClone(this.netfilter);
    for (const [name, ask] of Object.entries(scope.readers ?? {})) (out.readers ??= {})[name] = this.answer(name, ask);
    return out;
  }

  /** The kinds' own readers (KindSpec.reader), as their drivers answer. */
  private answer(reader: string, ask: unknown): unknown {
    if (reader !== 'wireguard') throw new Error(`fake host: reader ${reader} is not modelled`);
    return new Map((ask as string[]).flatMap((dev) => {
      const w = this.wireguard.get(dev);
      return w && this.state.links.has(dev) ? [[dev, { ...w, peers: w.peers.map((p) => ({ ...p, allowedIPs: [...p.allowedIPs] })) }] as const] : [];
    }));
  }

  async write(phases: WritePhases): Promise<WriteResult> {
    const failures: Failure[] = [];
    let processes = 0;
    if (phases.some((p) => p.length)) {
      this.counts.writes++;
      this.writeCalls.push([...new Set(phases.flatMap((p) => p.flatMap((b) => b.lines.map((l) => l.change.key))))]);
    }
    for (const phase of phases) {
      for (const batch of phase) {
        processes++;
        if (batch.tool === 'iptables-restore' || batch.tool === 'ip6tables-restore') {
          failures.push(...this.restore(batch));
          continue;
        }
        const seen = new Set<Change>();
        for (const l of batch.lines) {
          if (seen.has(l.change)) continue;
          seen.add(l.change);
          if (this.failKeys.has(l.change.key)) {
            failures.push({ change: l.change, line: l.line, message: 'injected failure' });
            continue;
          }
          // As ip and bridge answer a line naming a device that is gone.
          const dev = (l.change.desired as { dev?: string } | undefined)?.dev;
          if ((c => c === 'route' || c === 'neigh' || c === 'fdb')(l.change.kind) && dev !== undefined && !this.state.links.has(dev)) {
            failures.push({ change: l.change, line: l.line, message: `Cannot find device "${dev}"` });
            continue;
          }
          this.written.push(l.change);
          if (!this.loseKeys.has(l.change.key)) this.apply(l.change, batch.tool);
        }
      }
    }
    return { failures, processes };
  }

  private apply(c: Change, tool?: string): void {
    const s = this.state;
    switch (c.kind) {
      case 'route':
      case 'neigh':
      case 'fdb': {
        const next = applyToActual(s, [c]);
        if (!next) throw new Error(`fake host: ${c.action} ${c.key} is not modelled`);
        this.state = next;
        return;
      }
      case 'link':
      case 'tun': {
        const name = entryOf(c).name;
        if (c.action === 'delete' || c.action === 'replace') this.removeDevice(name);
        if (c.action === 'add' || c.action === 'replace') s.links.set(name, this.newDevice(c.desired));
        if (c.action === 'change') {
          const l = s.links.get(name)!;
          const d = c.desired;
          if (d.kind === 'link' && l.mac?.text !== d.mac.text) {
            l.mac = d.mac;
            s.neighbors = s.neighbors.filter((n) => n.dev !== name);
          }
          l.mtu = d.mtu;
          l.up = d.up;
        }
        return;
      }
      case 'addr': {
        const e = entryOf(c);
        const l = s.links.get(e.dev);
        if (!l) return;
        l.addrs = l.addrs.filter((a) => a.text !== e.addr.text);
        if (c.action !== 'delete') l.addrs.push(e.addr);
        return;
      }
      case 'offload': {
        if (c.action === 'delete') return;
        const e = c.desired;
        this.offload = this.offload.filter((o) => !(o.dev === e.dev && o.feature === e.feature)).concat({ ...e });
        return;
      }
      case 'sysctl': {
        if (c.action !== 'delete' && this.sysctlDefault !== undefined) this.sysctl.set(c.key, c.desired.value);
        return;
      }
      case 'wg-device': {
        // The device ('wireguard:link' batch) and its key and port (the 'wireguard:sync' batch): both apply the change, alike.
        const name = entryOf(c).name;
        // The 'wireguard:sync' batch (syncconf) sets key and port only; the device itself is the 'wireguard:link' batch's.
        if (tool !== 'wireguard:sync' && (c.action === 'delete' || c.action === 'replace')) this.removeDevice(name);
        if (c.action === 'delete') return;
        const d = c.desired;
        const l = s.links.get(name) ?? { name, index: this.nextIndex++, mtu: d.mtu, up: d.up, kind: 'wireguard', addrs: [] };
        l.mtu = d.mtu;
        l.up = d.up;
        s.links.set(name, l);
        const w = this.wireguard.get(name) ?? { listenPort: 0, peers: [] };
        this.wireguard.set(name, { ...w, listenPort: d.listenPort, publicKey: d.publicKey ?? 'fake-host-key' });
        return;
      }
      case 'wg-peer': {
        const e = entryOf(c);
        const w = this.wireguard.get(e.dev);
        if (!w || !s.links.has(e.dev)) return;
        w.peers = w.peers.filter((p) => p.publicKey !== e.publicKey);
        if (c.action !== 'delete') w.peers.push({ ...c.desired, allowedIPs: [...c.desired.allowedIPs] });
        return;
      }
    }
  }

  /**
   * An iptables-restore --noflush run: the batch's input is what the kernel
   * gets (a declared chain is flushed and rewritten in the input's order),
   * not its changes one by one. One transaction: a failed or lost change,
   * or a -D matching no rule, and none of it takes.
   */
  private restore(batch: Batch): Failure[] {
    const changes = [...new Set(batch.lines.map((l) => l.change))];
    const fail = (message: string) => batch.lines.map((l) => ({ change: l.change, line: l.line, message }));
    if (changes.some((c) => this.failKeys.has(c.key))) return fail('injected failure');
    const family = batch.tool === 'ip6tables-restore' ? 6 : 4;
    const tables = structuredClone(this.netfilter);
    let t: TableState | undefined;
    for (const [n, line] of (batch.input ?? '').split('\n').entries()) {
      const declared = /^:(\S+) /.exec(line);
      const rule = /^-([ADX]) (\S+)(?: (.+))?$/.exec(line);
      if (line.startsWith('*')) {
        t = tables[`${family}/${line.slice(1)}` as keyof NetfilterState] ??= { chains: [], rules: [] };
      } else if (line === 'COMMIT' || line === '') {
        t = undefined;
      } else if (t && declared) {
        if (t.chains.includes(declared[1])) t.rules = t.rules.filter((r) => r.chain !== declared[1]);
        else t.chains.push(declared[1]);
      } else if (t && rule?.[1] === 'A') {
        if (!t.chains.includes(rule[2])) t.chains.push(rule[2]);
        t.rules.push({ chain: rule[2], spec: rule[3]! });
      } else if (t && rule?.[1] === 'D') {
        const at = t.rules.findIndex((r) => r.chain === rule[2] && r.spec === rule[3]);
        if (at < 0) return fail(`iptables-restore: line ${n + 1} failed`);
        t.rules.splice(at, 1);
      } else if (t && rule?.[1] === 'X') {
        t.chains = t.chains.filter((c) => c !== rule[2]);
      } else {
        throw new Error(`fake host: restore line ${JSON.stringify(line)} is not modelled`);
      }
    }
    this.written.push(...changes);
    if (!changes.some((c) => this.loseKeys.has(c.key))) this.netfilter = tables;
    return [];
  }

  private newDevice(d: LinkEntry | TunEntry): HostLink {
    if (d.kind === 'tun') {
      return { name: d.name, index: this.nextIndex++, mtu: d.mtu, up: d.up, kind: 'tun', tun: { type: 'tun', pi: false, persist: true, multiQueue: false }, addrs: [] };
    }
    return {
      name: d.name, index: this.nextIndex++, mtu: d.mtu, mac: d.mac, up: d.up, kind: 'vxlan',
      vxlan: { id: d.vni, local: d.local, link: d.underlay, port: d.port, learning: d.learning }, addrs: [],
    };
  }

  /** A device goes with its addresses, neighbours, fdb entries and routes. */
  private removeDevice(name: string): void {
    const s = this.state;
    s.links.delete(name);
    s.neighbors = s.neighbors.filter((n) => n.dev !== name);
    s.fdb = s.fdb.filter((f) => f.dev !== name);
    s.routes = s.routes.filter((r) => r.dev !== name);
    this.offload = this.offload.filter((o) => o.dev !== name);
    for (const key of [...this.sysctl.keys()]) if (key.startsWith(`sysctl:${name}/`)) this.sysctl.delete(key);
    this.wireguard.delete(name);
  }
}

/** A copy that shares no array or link object with `s` (typed values are immutable). */
export function copyState(s: ActualState): ActualState {
  return {
    links: new Map([...s.links].map(([k, l]) => [k, { ...l, addrs: [...l.addrs] }])),
    routes: s.routes.map((r) => ({ ...r })),
    neighbors: s.neighbors.map((n) => ({ ...n })),
    fdb: s.fdb.map((f) => ({ ...f })),
  };
}
