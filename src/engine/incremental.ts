// The daemon's incremental planning: one peer's change costs work for that
// peer, not a replan of the cluster (as flanneld handles a lease event with
// a few netlink calls, and Calico Felix's delta tracker keeps desired and
// dataplane state by key). Pure: no I/O.
//
// A full cycle (start, resync, SIGHUP, a config change, any doubt) plans the
// whole cluster as before and seeds an IncrementalPlan from what that plan
// was made of (engine/desired.ts PlanTrace): every source node's own check,
// each peer's own entries and problems, an index of the cluster-wide rules'
// inputs (validate/incremental.ts) and of the kernel model (kernel-index.ts).
// A source's delta (nodes upserted or deleted by name) then:
//  - validates only the touched nodes;
//  - asks the collision index whether a touched node, old or new, takes part
//    in a cluster-wide rule (overlapping subnets, a shared VTEP MAC, a
//    duplicate name) or could be this node: those are decided between
//    several nodes, by source order and by what is programmed here, and
//    go to a full replan;
//  - plans the touched peers alone (the backend's planner on this node and
//    that peer: per-peer entries and problems are the same as in the whole plan);
//  - diffs only their old and new entries against the kernel index.
// Whatever it cannot follow exactly (more than MAX_TOUCHED nodes, the
// options or the kernel model replaced, routes flanneld left, a node
// whose overlap verdict depends on what is programmed) is a fallback: the
// caller replans in full. test/unit/engine/incremental.test.ts checks that
// the result equals a full replan after every step of random event sequences.
import { hostname as osHostname } from 'node:os';
import { plan } from '../backends/index.js';
import { backendOf } from '../backends/registry.js';
import type { PlanInput } from '../backends/types.js';
import { addOf, changeOf, deleteOf, specOf } from '../kinds/index.js';
import { formatDifferences } from '../kinds/types.js';
import type { ActualState, Change, ClusterState, DesiredState, Entry, Node, PeerPlan, Problem, RawNode } from '../model/types.js';
import { diff } from '../reconcile/diff.js';
import { programmedCheck } from '../reconcile/programmed.js';
import { CollisionIndex } from '../validate/incremental.js';
import type { ValidatedCluster } from '../validate/index.js';
import { validateNode, type NodeCheck } from '../validate/nodes.js';
import type { CycleOptions, Snapshot } from './cycle.js';
import type { PlanTrace } from './desired.js';
import { policyFor } from './devices.js';
import { KernelIndex } from './kernel-index.js';
import { PlannedKeys } from './planned-keys.js';

/** What a source says changed since its previous read: nodes by name. */
export interface NodeDelta {
  upserts: RawNode[];
  deletes: string[];
}

/** Above this many touched nodes a full replan is about as cheap, and simpler. */
export const MAX_TOUCHED = 256;

/** Problems as a multiset: the same warning may come from two places. */
class ProblemSet {
  private readonly m = new Map<string, { p: Problem; n: number }>();
  constructor(ps: readonly Problem[] = []) {
    for (const p of ps) this.add(p);
  }
  private static key(p: Problem): string {
    return `${p.subject}\u0000${p.message}`;
  }
  add(p: Problem): void {
    const k = ProblemSet.key(p);
    const e = this.m.get(k);
    if (e) e.n++;
    else this.m.set(k, { p, n: 1 });
  }
  /** False when `p` was not there. */
  remove(p: Problem): boolean {
    const k = ProblemSet.key(p);
    const e = this.m.get(k);
    if (!e) return false;
    if (--e.n === 0) this.m.delete(k);
    return true;
  }
  get size(): number {
    return this.m.size;
  }
  list(): Problem[] {
    const out: Problem[] = [];
    for (const { p, n } of this.m.values()) for (let i = 0; i < n; i++) out.push(p);
    return out;
  }
}

/** One source node, by name, as last validated. */
interface Known {
  node?: Node;
  problem?: Problem;
}

export type IncrementalResult = { snap: Snapshot } | { fallback: string };

/**
 * What an incremental snapshot's plan changed from the one before it, so
 * what the daemon keeps of a plan (the objects it repairs, the peers it
 * probes) follows it in the touched peers' time instead of the cluster's.
 */
export interface PlanDelta {
  /** The desired state this one follows: the previous snapshot's (full or incremental). */
  since: DesiredState;
  /**
   * The touched nodes by name, in the order their plans were made: the
   * peer plan now, or undefined when the node is no peer any more. The new
   * `desired.peers` is the old one without these, then these (defined ones)
   * in this order.
   */
  peers: ReadonlyMap<string, PeerPlan | undefined>;
  /** The touched peers' entries before and now: the new entries are the old ones less `removed`, plus `added`. */
  removed: readonly Entry[];
  added: readonly Entry[];
}

/** The full cycle's snapshot as the plan keeps it: its host read only until the plan is loaded (see slim). */
type BaseSnapshot = Omit<Snapshot, 'actual'> & { actual?: ActualState };

export class IncrementalPlan {
  private readonly byName = new Map<string, Known>();
  /** Names listed more than once by the source (only the first is a node). */
  private readonly duplicates = new Set<string>();
  /** Valid nodes that take part in a cluster-wide rule, with what "programmed" answered for them. */
  private readonly conflicted = new Map<string, string>();
  private readonly collisions: CollisionIndex;
  private readonly peerEntries = new Map<string, Entry[]>();
  private readonly peers = new Map<string, PeerPlan>();
  private readonly kept = new Set<Node>();
  /** Whether an entry of the current plan has this kinds key (DesiredState.entryKeys). */
  readonly entryKeys = new PlannedKeys();
  /** The plan's entries that are no peer's (devices, addresses, rules). */
  private head: Entry[] = [];
  private readonly clusterProblems: ProblemSet;
  private readonly plannerProblems: ProblemSet;
  /** Source-independent problems of the full cycle (host extras, route conflicts): unchanged by a delta. */
  private readonly otherProblems: Problem[];
  /** The planner's problems for this node alone (subtracted from a peer's plan with this node). */
  private readonly headPlannerProblems: Problem[];
  private kernel: KernelIndex;
  /** The desired state of the last snapshot made (the seed's, then each apply's): the next delta's `since`. */
  private last: DesiredState;
  private entryCount: number;
  private broken?: string;

  private constructor(
    private base: BaseSnapshot,
    private input: PlanInput,
    private state: ClusterState,
    private readonly optionsKey: string,
    private readonly hostIPs: ReadonlySet<string>,
    private readonly opts: CycleOptions,
    model: ActualState,
  ) {
    const { cluster, desired } = base;
    const config = cluster.config;
    this.collisions = new CollisionIndex(config.network.len, config.ipv6?.network.len);
    this.kernel = KernelIndex.build(model, config);
    this.last = desired;
    this.entryCount = desired.entries.length;
    this.clusterProblems = new ProblemSet(cluster.problems);
    this.plannerProblems = new ProblemSet(desired.problems);
    this.otherProblems = base.problems.slice(cluster.problems.length + desired.problems.length);
    this.headPlannerProblems = plan({ ...input, cluster: { ...cluster, nodes: [cluster.local] } }).problems;
  }

  /**
   * Seeds the plan from a full cycle's snapshot (made with a trace) and the
   * kernel model after its write. Linear in the cluster, once per full cycle.
   */
  static seed(snap: Snapshot, opts: CycleOptions, model: ActualState): IncrementalPlan | { fallback: string } {
    const trace = snap.trace;
    if (!trace?.input) return { fallback: 'the full plan was made without a trace' };
    // A planner that does not say which entries are whose (WireGuard's peers, udp's forwarder table) cannot be planned a peer at a time.
    if (!backendOf(snap.cluster.config.backend).tracesPeers) return { fallback: `the ${snap.cluster.config.backend.type} planner does not trace its peers` };
    const hostIPs = new Set([...model.links.values()].flatMap((l) => l.addrs.map((a) => a.addr.text)));
    const p = new IncrementalPlan(snap, trace.input, snap.state, optionsKey(opts), hostIPs, opts, model);
    p.load(trace);
    p.slim();
    return p;
  }

  /**
   * Keeps of the full cycle's snapshot only what an event cycle reads: not
   * its host read, its changes, its source nodes or its entry lists (all
   * held elsewhere, by key), so the daemon does not carry two copies of the
   * cluster between full cycles. Nor a kernel model: the one given to seed
   * goes stale as the kernel index follows the writes, and kept, it held
   * every entry the churn since replaced (a second copy of the host after
   * every peer changed once). The main routing table stays in the planner's
   * input only for a backend that plans from it (vxlan DirectRouting).
   */
  private slim(): void {
    const b = this.base;
    const cluster: ValidatedCluster = { config: b.cluster.config, local: b.cluster.local, nodes: [], problems: [] };
    this.state = { ...b.state, nodes: [] };
    const plansFromRoutes = backendOf(cluster.config.backend).plansFromRoutes(cluster.config);
    this.input = { ...this.input, cluster, routes: plansFromRoutes ? this.input.routes : undefined };
    this.base = {
      state: this.state,
      cluster,
      desired: { ...b.desired, entries: [], peers: [], problems: [] },
      result: { changes: [], conflicts: b.result.conflicts, adopted: b.result.adopted, inSync: 0 },
      problems: [],
      host: b.host,
    };
  }

  private load(trace: PlanTrace): void {
    const { cluster, desired } = this.base;
    for (const { raw, check } of trace.checks) {
      if (typeof raw.name !== 'string') continue; // reported by its origin; never touched by a delta
      if (this.byName.has(raw.name)) {
        this.duplicates.add(raw.name);
        continue;
      }
      this.byName.set(raw.name, check);
      if (check.node) this.collisions.add(check.node);
    }
    for (const n of cluster.nodes) this.kept.add(n);
    let isProgrammed: ((n: Node) => boolean) | undefined;
    for (const [name, k] of this.byName) {
      if (!k.node || this.collisions.collision(k.node) === undefined) continue;
      isProgrammed ??= programmedCheck(this.base.actual!, cluster.config, policyFor(cluster.config));
      this.conflicted.set(name, programmedKey(k.node, isProgrammed));
    }
    const inPeers = new Set<Entry>();
    for (const [node, es] of trace.peerEntries) {
      this.peerEntries.set(node.name, es);
      for (const e of es) inPeers.add(e);
    }
    for (const p of desired.peers) this.peers.set(p.node.name, p);
    this.head = desired.entries.filter((e) => !inPeers.has(e));
    for (const e of desired.entries) this.entryKeys.add(e, specOf(e.kind).key(e));
  }

  /**
   * The kernel model moved on with `applied` (written and modelled: `next`;
   * or, when `read`, written and then read back: `next` is that read).
   */
  follow(applied: readonly Change[], next: ActualState, read = false): void {
    if (read) this.kernel = KernelIndex.build(next, this.base.cluster.config);
    else this.kernel.follow(applied, next);
  }

  /** Why this node could be (or become) the local node: its selection is the full plan's business. */
  private couldBeLocal(n: Node): boolean {
    const local = this.base.cluster.local;
    if (n.name === local.name) return true;
    if (this.opts.node !== undefined || this.state.localName !== undefined) return false;
    if (this.state.namedNodes && n.name === (this.opts.hostname ?? osHostname())) return true;
    const ips = [n.publicIP.text, n.v6?.publicIP.text];
    return ips.some((ip) => ip !== undefined && (ip === this.opts.publicIP || this.hostIPs.has(ip)));
  }

  /**
   * The snapshot after `delta`, against the kernel model `model` (the
   * daemon's; the one follow() was last told of). On fallback the plan is
   * spent: the caller replans in full and seeds a new one.
   */
  apply(delta: NodeDelta, model: ActualState, opts: CycleOptions, repairs: ReadonlySet<string> = new Set(), whole = false): IncrementalResult {
    const fallback = (why: string) => {
      this.broken = why;
      return { fallback: why };
    };
    if (this.broken) return { fallback: `spent by an earlier fallback (${this.broken})` };
    if (optionsKey(opts) !== this.optionsKey) return fallback('the cycle options changed');
    if (this.kernel.of !== model) this.kernel = KernelIndex.build(model, this.base.cluster.config);
    if (this.kernel.doubt) return fallback(this.kernel.doubt);
    if (this.conflicted.size) {
      // Overlap verdicts depend on what is programmed; the last write may have changed that.
      const isProgrammed = programmedCheck(model, this.base.cluster.config, policyFor(this.base.cluster.config));
      for (const [name, was] of this.conflicted) {
        if (programmedKey(this.byName.get(name)!.node!, isProgrammed) !== was) return fallback(`node ${name}: programmed here or not, since the last plan`);
      }
    }
    const touched = new Map<string, RawNode | undefined>();
    for (const raw of delta.upserts) {
      if (typeof raw.name !== 'string') return fallback(`a node without a name (${raw.origin})`);
      if (touched.has(raw.name)) return fallback(`node ${raw.name} twice in one delta`);
      touched.set(raw.name, raw);
    }
    for (const name of delta.deletes) {
      if (touched.has(name)) return fallback(`node ${name} twice in one delta`);
      touched.set(name, undefined);
    }
    if (touched.size > MAX_TOUCHED) return fallback(`${touched.size} nodes changed`);
    const config = this.base.cluster.config;
    const macRequired = this.state.macRequired ?? !this.state.namedNodes;

    // 1. Validate the touched nodes; leave the cluster-wide rules to a full replan.
    const steps: Array<{ name: string; old?: Known; now?: NodeCheck }> = [];
    for (const [name, raw] of touched) {
      if (this.duplicates.has(name)) return fallback(`node ${name} is listed twice`);
      if (this.conflicted.has(name)) return fallback(`node ${name} overlaps another node or shares its VTEP MAC`);
      const old = this.byName.get(name);
      if (old?.node && this.couldBeLocal(old.node)) return fallback(`node ${name} is, or could be, this node`);
      const now = raw ? validateNode(raw, config, macRequired) : undefined;
      if (now?.node && this.couldBeLocal(now.node)) return fallback(`node ${name} could be this node`);
      if (name === this.base.cluster.local.name) return fallback(`node ${name} is this node`);
      steps.push({ name, old, now });
    }
    for (const s of steps) this.collisions.replace(s.old?.node, s.now?.node);
    for (const s of steps) {
      const why = s.now?.node && this.collisions.collision(s.now.node);
      if (why) return fallback(why);
    }

    // 2. Plan the touched peers alone; their problems replace their old ones.
    const oldEntries: Entry[] = [];
    const newEntries: Entry[] = [];
    const touchedPeers = new Map<string, PeerPlan | undefined>();
    for (const { name, old, now } of steps) {
      if (old?.problem) this.clusterProblems.remove(old.problem);
      if (old?.node) {
        // The old peer's planner problems leave the plan: found by planning it again, unless the plan has none.
        if (this.plannerProblems.size) for (const p of this.planPeer(old.node).problems) this.plannerProblems.remove(p);
        const es = this.peerEntries.get(name) ?? [];
        oldEntries.push(...es);
        this.entryCount -= es.length;
        this.kept.delete(old.node);
        this.peerEntries.delete(name);
        this.peers.delete(name);
      }
      if (now?.problem) this.clusterProblems.add(now.problem);
      if (now?.node) {
        const p = this.planPeer(now.node);
        for (const x of p.problems) this.plannerProblems.add(x);
        if (p.entries.length) this.peerEntries.set(name, p.entries);
        if (p.peer) this.peers.set(name, p.peer);
        this.kept.add(now.node);
        newEntries.push(...p.entries);
        this.entryCount += p.entries.length;
      }
      if (now) this.byName.set(name, now);
      else this.byName.delete(name);
      touchedPeers.set(name, this.peers.get(name));
    }

    // 3. Diff the touched peers' old and new entries against the kernel.
    const changes: Change[] = [];
    const wanted = new Set<string>();
    for (const e of newEntries) {
      const spec = specOf(e.kind);
      const key = spec.key(e);
      wanted.add(key);
      this.entryKeys.add(e, key);
      if (e.kind === 'route' && this.kernel.foreignDsts.has(e.dst.text)) return fallback(`a route not owned by ovlnet holds ${e.dst.text}`);
      const a = this.kernel.owned(e);
      if (!a) {
        changes.push(addOf(e, key));
        continue;
      }
      const ds = spec.compare(e, a);
      if (ds.length) changes.push(changeOf(e, a, key, formatDifferences(ds)));
    }
    for (const e of oldEntries) {
      const key = specOf(e.kind).key(e);
      this.entryKeys.remove(e, key);
      if (wanted.has(key)) continue;
      if (e.kind === 'route' && this.kernel.foreignDsts.has(e.dst.text)) return fallback(`a route not owned by ovlnet holds ${e.dst.text}`);
      const a = this.kernel.owned(e);
      if (a) changes.push(deleteOf(a, key));
    }
    // 4. Objects of the plan the kernel lost since the last cycle (kernel events): written again.
    //    A lost device took everything on it along (the model says so): the
    //    whole plan, as it stands, diffed against the model; so is it when
    //    asked (`whole`: a model that missed events).
    const { device, device6 } = this.base.desired;
    if (whole || [device, device6].some((d) => d !== undefined && repairs.has(`link:${d}`))) {
      const snap = this.snapshot(model, []);
      return { snap: { ...snap, result: diff(snap.desired, model, policyFor(config)) } };
    }
    if (repairs.size) {
      const todo = new Set([...repairs].filter((k) => !wanted.has(k)));
      for (const e of this.entriesUntouched()) {
        if (!todo.size) break;
        const spec = specOf(e.kind);
        const key = spec.key(e);
        if (!todo.delete(key)) continue;
        const a = this.kernel.owned(e);
        if (!a) changes.push(addOf(e, key));
        else if (spec.compare(e, a).length) changes.push(changeOf(e, a, key, formatDifferences(spec.compare(e, a))));
      }
    }
    const snap = this.snapshot(model, changes);
    snap.delta = { since: this.last, peers: touchedPeers, removed: oldEntries, added: newEntries };
    this.last = snap.desired;
    return { snap };
  }

  /** The plan's vxlan device `name` and its addresses (what a deleted device's repair writes before anything else). */
  deviceEntries(name: string): Entry[] {
    return this.head.filter((e) => (e.kind === 'link' && e.name === name) || (e.kind === 'addr' && e.dev === name));
  }

  /** Every planned entry (the node-independent head, then each peer's): a repair looks its objects up here. */
  private *entriesUntouched(): Iterable<Entry> {
    yield* this.head;
    for (const es of this.peerEntries.values()) yield* es;
  }

  /** The backend's plan of this node and `n` alone: n's entries, problems and how it is reached. */
  private planPeer(n: Node): { entries: Entry[]; problems: Problem[]; peer?: PeerPlan } {
    const peerEntries = new Map<Node, Entry[]>();
    const d = plan({ ...this.input, cluster: { ...this.base.cluster, nodes: [this.base.cluster.local, n] }, peerEntries });
    const head = new ProblemSet(this.headPlannerProblems);
    const problems = d.problems.filter((p) => !head.remove(p));
    return { entries: peerEntries.get(n) ?? [], problems, peer: d.peers.find((p) => p.node === n) };
  }

  /**
   * The snapshot's `desired.peers`, `desired.entries` and `cluster.nodes`
   * are built when first read, from the plan's maps, which the next apply()
   * updates in place: read after it, they are that newer plan (a copy per
   * snapshot would cost O(peers) per event). Every reader reads them within
   * the cycle that made the snapshot: the write (a driver kind's phases),
   * the daemon's onSuccess (the iptables rules, the prober's peers, the
   * data plane: udp alone, which keeps no plan). What outlives the cycle
   * keeps only the snapshot's identity (the prober, delta.since) and what
   * it took then (the iptables rules), or asks the plan's own lookup
   * (`entryKeys`, live: the kernel watch, daemon/kernel-events.ts
   * ownedFrom, which holds the last converged plan's across a cycle that
   * fails with its device vanished, after it updated the plan).
   * test/unit/daemon/reconciler.test.ts shows a late read.
   */
  private snapshot(model: ActualState, changes: Change[]): Snapshot {
    const { base } = this;
    const head = this.head;
    const peerEntries = this.peerEntries;
    const kept = this.kept;
    const clusterProblems = this.clusterProblems.list();
    const plannerProblems = this.plannerProblems.list();
    let entries: Entry[] | undefined;
    let peers: PeerPlan[] | undefined;
    const peerMap = this.peers;
    const desired: DesiredState = {
      ...base.desired,
      // Built when asked for (a full prober update, a driver kind's write): an event cycle counts them.
      get peers() {
        return (peers ??= [...peerMap.values()]);
      },
      set peers(v: PeerPlan[]) {
        peers = v;
      },
      peerCount: peerMap.size,
      // Built when asked for (the --iptables-resync check, a driver kind's write): the event path never does.
      get entries() {
        return (entries ??= head.concat(...peerEntries.values()));
      },
      set entries(v: Entry[]) {
        entries = v;
      },
      problems: plannerProblems,
      entryKeys: this.entryKeys,
    };
    let nodes: Node[] | undefined;
    const cluster: ValidatedCluster = {
      config: base.cluster.config,
      local: base.cluster.local,
      problems: clusterProblems,
      get nodes() {
        return (nodes ??= [...kept]);
      },
      set nodes(v: Node[]) {
        nodes = v;
      },
    };
    const conflicts = base.result.conflicts;
    const nonDeletes = changes.filter((c) => c.action !== 'delete').length;
    return {
      state: this.state,
      cluster,
      desired,
      actual: model,
      // Every other entry was in sync after the last cycle (it succeeded, or there would be no plan to follow).
      result: { changes, conflicts, adopted: base.result.adopted, inSync: Math.max(0, this.entryCount - nonDeletes - conflicts.length) },
      problems: [...clusterProblems, ...plannerProblems, ...this.otherProblems],
      host: base.host,
      ownedPeers: this.kernel.ownedRoutes,
    };
  }
}

/** What the planner's inputs from the options are: a change means a full replan. */
function optionsKey(opts: CycleOptions): string {
  return JSON.stringify(opts);
}

/** What "programmed" answers for a node, both families (validate/index.ts asks the IPv6 half as a node of its own). */
function programmedKey(n: Node, isProgrammed: (n: Node) => boolean): string {
  return `${isProgrammed(n)}/${n.v6 ? isProgrammed({ ...n, ...n.v6 }) : '-'}`;
}
