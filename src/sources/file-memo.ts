// What the file source keeps of its last good read, so that the next read of
// the whole file (the file is the source: there is no event per node) spends
// on each unchanged node only a comparison with the node as it was parsed
// then: its checks, its mapping to a RawNode and its print (file-settle.ts)
// are the ones made last time. A node counts as unchanged when it is equal,
// value for value and key order included, to the node at the same place in
// the last read that passed every check. Pure.
import type { RawNode } from '../model/types.js';

/** Whether two parsed JSON/YAML values are equal (objects: same keys in the same order). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !sameValue(oa[ka[i]], ob[ka[i]])) return false;
  return true;
}

export class NodeMemo {
  /**
   * `nodes`: the last good read's node list as parsed; `raws`: what was made
   * of each (undefined for an entry that was no mapping).
   */
  private constructor(private readonly nodes: readonly unknown[], private readonly raws: ReadonlyArray<RawNode | undefined>) {}

  /** The memo of a read that passed every check: its node list and the RawNodes made of its mappings, in order. */
  static of(nodes: readonly unknown[], made: readonly RawNode[], isMapping: (n: unknown) => boolean): NodeMemo {
    const raws: Array<RawNode | undefined> = new Array(nodes.length);
    let j = 0;
    for (let i = 0; i < nodes.length; i++) raws[i] = isMapping(nodes[i]) ? made[j++] : undefined;
    return new NodeMemo(nodes, raws);
  }

  /** One read's view: whether its i-th node is the memo's, and then the RawNode made of it (each compared once). */
  reader(): { unchanged(n: unknown, i: number): boolean; raw(n: unknown, i: number): RawNode | undefined } {
    const seen: Array<boolean | undefined> = [];
    const unchanged = (n: unknown, i: number): boolean => (seen[i] ??= i < this.nodes.length && this.raws[i] !== undefined && sameValue(n, this.nodes[i]));
    return { unchanged, raw: (n, i) => (unchanged(n, i) ? this.raws[i] : undefined) };
  }
}
