// Reading and writing saved plans (plan --out, diff --out, apply FILE); the
// format and the decisions are engine/saved-plan.ts's.
import { readFile } from 'node:fs/promises';
import type { Snapshot } from '../engine/cycle.js';
import { hostFingerprint, sourceFingerprint } from '../engine/fingerprint.js';
import { changesFingerprint, parseSavedPlan, planSettings, savedPlanDocument, type CurrentState, type SavedPlan } from '../engine/saved-plan.js';
import { PlanFileError } from '../errors.js';
import { writeFileAtomic } from '../host/files.js';
import { packageInfo } from '../package.js';
import { orderChanges } from '../reconcile/order.js';
import { changeCounts, changeJSON, peerIndex } from '../render/changes-view.js';
import { resolveSourceURI } from '../sources/index.js';
import type { GlobalOptions } from './context.js';
import { cycleOptions } from './load.js';

/** The snapshot's changes as the file holds them: in write order, each naming its peer. */
function changesOf(snap: Snapshot): object[] {
  const peerOf = peerIndex(snap.desired);
  return orderChanges(snap.result.changes).map((c) => changeJSON(c, peerOf));
}

/** The node, namespace, settings and fingerprints of the state just read. */
export async function currentState(snap: Snapshot, o: GlobalOptions): Promise<CurrentState> {
  // Loaded already by the snapshot (not statically here: it would split the bundle's chunks).
  const { hostScope } = await import('../engine/cycle.js');
  return {
    target: { node: snap.cluster.local.name, netns: o.netns ?? null, backend: snap.desired.backend, source: resolveSourceURI(o.source) },
    settings: planSettings({ ...cycleOptions(o) }),
    fingerprints: { source: sourceFingerprint(snap.cluster), host: hostFingerprint(snap.actual, hostScope(snap)), changes: changesFingerprint(changesOf(snap)) },
  };
}

/** Writes the plan file: atomically (a reader never sees half of it), readable by its owner only. */
export async function writeSavedPlan(path: string, snap: Snapshot, o: GlobalOptions, now = new Date()): Promise<SavedPlan> {
  const cur = await currentState(snap, o);
  const doc = savedPlanDocument({
    target: cur.target,
    settings: cur.settings,
    fingerprints: { source: cur.fingerprints.source, host: cur.fingerprints.host },
    summary: changeCounts(snap.result.changes),
    changes: changesOf(snap),
    ovlnetVersion: packageInfo().version,
    now,
  });
  try {
    await writeFileAtomic(path, JSON.stringify(doc, null, 2) + '\n', 0o600);
  } catch (e) {
    throw new PlanFileError(`--out ${path}: ${(e as Error).message}`, 'choose a writable path');
  }
  return doc;
}

export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PlanFileError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such plan file' : (e as Error).message}`, 'write one with "ovlnet plan --out FILE"');
  }
  return await parseSavedPlan(path, text);
}
