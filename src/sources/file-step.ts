// A read of the cluster file that differs from the last accepted read in a
// few nodes, decided in work proportional to those nodes. Pure.
//
// A daemon's file source compares every read with the last one it accepted:
// the half-written-file guard asks whether the read drops or changes
// anything (needsConfirmation, file-settle.ts) and the daemon's delta which
// nodes changed by name (nodePrint, nodeDelta). Made from scratch, both walk
// every node (a key per node in a set, a print per node in a map) for a
// change of one. When the read lists as many nodes as the accepted one, the
// same config, no warnings on either side, and the same names at the places
// that changed, both answers follow from the changed places alone: the
// guard's key counts tell whether an old key goes, and the print map keeps
// its names. Anything else (a node added, removed or renamed, a warning, a
// config change, more than MAX_STEP places) is left to the whole computation.
import type { ClusterState, RawNode } from '../model/types.js';
import { configKey, nodeKey, type NodePrint, type PrintCache, type ReadSummary } from './file-settle.js';

/** More changed places than this: the whole computation (its cost no longer stands out). */
export const MAX_STEP = 256;

/** What the source keeps of the read it last accepted (applyStep changes it in place). */
export interface Accepted {
  summary: ReadSummary;
  printed: NodePrint;
  /** The read's nodes, the source's own copy of the array. */
  nodes: RawNode[];
  warnings: readonly string[];
}

/** A read as changes to the accepted one: the changed places, in file order, and their new keys. */
export interface Step {
  changed: readonly number[];
  keys: readonly string[];
}

/**
 * The places where `nodes` holds another node object than the accepted
 * read (an unchanged node is the same object: file-memo.ts); undefined when
 * the lists differ in length or in more than MAX_STEP places.
 */
export function changedPlaces(accepted: readonly RawNode[], nodes: readonly RawNode[]): number[] | undefined {
  if (accepted.length !== nodes.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    if (nodes[i] !== accepted[i] && out.push(i) > MAX_STEP) return undefined;
  }
  return out;
}

/**
 * The read `state` as a step from `acc`, when it is one (see the head of
 * this file); `changed`: its changed places when the parse knows them (in
 * file order), else found by comparing the node objects.
 */
export function stepFrom(acc: Accepted, state: ClusterState, changed: readonly number[] | undefined, cache?: PrintCache): Step | undefined {
  if (acc.warnings.length || state.warnings.length || !acc.printed.byName) return undefined;
  const places = changed ?? changedPlaces(acc.nodes, state.nodes);
  if (!places || places.length > MAX_STEP || state.nodes.length !== acc.nodes.length) return undefined;
  if (configKey(state.config) !== acc.summary.configKey) return undefined;
  const keys: string[] = [];
  for (const i of places) {
    const name = state.nodes[i].name;
    if (typeof name !== 'string' || name !== acc.nodes[i].name) return undefined;
    keys.push(nodeKey(state.nodes[i] as unknown as Record<string, unknown>, cache));
  }
  return { changed: places, keys };
}

/** needsConfirmation(acc.summary, summary of the step's read), from the changed places alone. */
export function stepNeedsConfirmation(acc: Accepted, step: Step): boolean {
  // Per key: how many more (or fewer) times the read lists it.
  const diff = new Map<string, number>();
  step.changed.forEach((i, j) => {
    const was = acc.summary.nodeKeys[i];
    const now = step.keys[j];
    if (was === now) return;
    diff.set(was, (diff.get(was) ?? 0) - 1);
    diff.set(now, (diff.get(now) ?? 0) + 1);
  });
  // A key the accepted read lists goes when its count falls to nothing; the config key is the same.
  for (const [k, d] of diff) if (d < 0 && (acc.summary.keys.get(k) ?? 0) + d <= 0) return true;
  return false;
}

/**
 * Makes `acc` the accepted read `state` (the step's read): its key counts,
 * keys, prints and nodes, in place; returns the daemon's delta, as
 * nodeDelta of the two prints would (the upserts in file order, no
 * deletes: the names are the same).
 */
export function applyStep(acc: Accepted, step: Step, state: ClusterState, cache?: PrintCache): { upserts: RawNode[]; deletes: string[] } {
  const upserts: RawNode[] = [];
  const counts = acc.summary.keys;
  const byName = acc.printed.byName!;
  step.changed.forEach((i, j) => {
    const n = state.nodes[i];
    const was = acc.summary.nodeKeys[i];
    const key = step.keys[j];
    if (was !== key) {
      const c = counts.get(was)! - 1;
      if (c === 0) counts.delete(was);
      else counts.set(was, c);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      acc.summary.nodeKeys[i] = key;
    }
    const name = n.name as string;
    const print = `${n.origin}\u0000${key}`;
    const entry = cache?.get(n);
    if (entry) entry.print = print;
    if (byName.get(name) !== print) upserts.push(n);
    byName.set(name, print);
    acc.nodes[i] = n;
  });
  return { upserts, deletes: [] };
}
