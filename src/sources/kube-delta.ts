// Per-node deltas of the Kubernetes source (Source.update(), for the
// daemon's incremental cycles): the Nodes whose watched fields changed since
// the last state given out, each mapped alone, instead of the whole cached
// list. Pure: the reflector (kube-reflector.ts) says which Nodes were
// touched, kube.ts wires it.
//
// A delta is given only when it says all that changed (SourceUpdate): the
// config, its warnings and this node's name as they were, and no touched
// Node left out with a warning or published under a public-ip-overwrite,
// now or in the last state (those shape the state's warnings and flags, not
// only its nodes). Otherwise the caller gives the whole state.
import type { RawNode } from '../model/types.js';
import { nodesToRaw, type AnnotationKeys, type KubeNode, type MappedNodes } from './kube-map.js';

/** What a delta is compared with: the last state given out. */
export interface KubeBaseline {
  /** The config, its warnings and the local node's name, as one string. */
  configKey: string;
  /** Nodes the last state left out with a warning or marked as overwritten. */
  special: ReadonlySet<string>;
}

export type KubeDelta = { upserts: RawNode[]; deletes: string[] } | { whole: string };

export function configKey(config: unknown, warnings: readonly string[], localName: string | undefined): string {
  return JSON.stringify([config, warnings, localName ?? null]);
}

export function baselineOf(mapped: MappedNodes, key: string): KubeBaseline {
  return { configKey: key, special: new Set([...mapped.leftOut.map((l) => l.name), ...mapped.overwritten]) };
}

/**
 * The delta for the Nodes in `touched` (names; `nodeOf` gives each one's
 * cached object, undefined once deleted), or why the whole state is needed.
 */
export function kubeDelta(touched: Iterable<string>, nodeOf: (name: string) => KubeNode | undefined, base: KubeBaseline, key: string, keys: AnnotationKeys): KubeDelta {
  if (key !== base.configKey) return { whole: 'the config or this node\'s name changed' };
  const upserts: RawNode[] = [];
  const deletes: string[] = [];
  for (const name of touched) {
    if (base.special.has(name)) return { whole: `Node ${name} was left out or overwritten` };
    const node = nodeOf(name);
    if (!node) {
      deletes.push(name);
      continue;
    }
    const m = nodesToRaw([node], keys);
    if (m.warnings.length || m.leftOut.length || m.overwritten.length || m.nodes.length !== 1) return { whole: `Node ${name} is left out or overwritten` };
    upserts.push(m.nodes[0]);
  }
  return { upserts, deletes };
}
