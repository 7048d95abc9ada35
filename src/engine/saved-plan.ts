// A saved plan (`ovlnet plan --out FILE`, applied by `ovlnet apply FILE`), as
// Terraform saves one: the changes, and fingerprints of the source state and
// of the host state they were computed from. Pure: documents in, documents or
// verdicts out; the command reads and writes the file.
//
// Secrets never go in: the file holds the changes (kernel entries), the
// settings that shape the plan and hashes. Any field whose name says it is a
// secret (a WireGuard private key, a pre-shared key, a password, a token) is
// dropped wherever it appears, so a kind added later cannot leak one, and the
// source address loses its user:password part.
import type { z as Zod } from 'zod/mini';
import type { savedPlanSchema } from './saved-plan-schema.js';
import { PlanFileError, StalePlanError } from '../errors.js';
import type { ChangeCounts } from '../render/changes-view.js';
import { canonical, sha256 } from './fingerprint.js';

export const SAVED_PLAN_FORMAT = 'ovlnet-plan';
/** Version of the plan file (docs/output.md). */
export const SAVED_PLAN_VERSION = 1;

const SECRET_FIELD = /private|secret|password|passwd|preshared|psk|token/i;

/** `v` with every secret-named field removed, at any depth. */
export function withoutSecrets<T>(v: T): T {
  if (Array.isArray(v)) return v.map(withoutSecrets) as T;
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !SECRET_FIELD.test(k)).map(([k, x]) => [k, withoutSecrets(x)])) as T;
}

/** A source address without credentials: `etcd://user:pw@host` -> `etcd://host`. */
export function sourceWithoutCredentials(uri: string): string {
  return uri.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1');
}

export interface PlanTarget {
  node: string;
  netns: string | null;
  backend: string;
  /** Where the source was read (shown, not compared: the same state from another address is the same state). */
  source: string;
}

/** The settings that shape the plan besides the source (the CLI's host options); compared one by one. */
export type PlanSettings = Record<string, string | boolean | null>;

export interface Fingerprints {
  source: string;
  host: string;
  /** The changes themselves, as written in the file. */
  changes: string;
}

/** The file's shape (saved-plan-schema.ts, zod: loaded only when a plan file is read; diff and apply never need it otherwise). */
export type SavedPlan = Zod.infer<ReturnType<typeof savedPlanSchema>>;

export function changesFingerprint(changes: readonly object[]): string {
  return sha256(canonical(withoutSecrets(changes)));
}

function checksumOf(doc: Omit<SavedPlan, 'checksum'>): string {
  return sha256(canonical(doc));
}

export interface SavedPlanInput {
  target: PlanTarget;
  settings: PlanSettings;
  fingerprints: Omit<Fingerprints, 'changes'>;
  summary: ChangeCounts;
  /** The changes as JSON (render/changes-view.ts changeJSON: with the peer each belongs to). */
  changes: object[];
  ovlnetVersion: string;
  now: Date;
}

export function savedPlanDocument(i: SavedPlanInput): SavedPlan {
  const changes = withoutSecrets(i.changes) as Array<Record<string, unknown>>;
  const doc = {
    format: SAVED_PLAN_FORMAT,
    version: SAVED_PLAN_VERSION,
    createdAt: i.now.toISOString(),
    ovlnetVersion: i.ovlnetVersion,
    target: { ...i.target, source: sourceWithoutCredentials(i.target.source) },
    settings: withoutSecrets(i.settings),
    fingerprints: { ...i.fingerprints, changes: changesFingerprint(changes) },
    summary: i.summary,
    changes,
  } as Omit<SavedPlan, 'checksum'>;
  return { ...doc, checksum: checksumOf(doc) };
}

const AGAIN = 'run "ovlnet plan --out FILE" again, review it, and apply the new file';

/** The file's text as a saved plan, or a PlanFileError saying what is wrong with it. */
export async function parseSavedPlan(path: string, text: string): Promise<SavedPlan> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`${path}: not a plan file (invalid JSON: ${(e as Error).message})`, 'give the file "ovlnet plan --out" wrote; it may be truncated or corrupted');
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (!head || typeof head !== 'object' || head.format !== SAVED_PLAN_FORMAT) {
    throw new PlanFileError(`${path}: not a plan file (no "format": "${SAVED_PLAN_FORMAT}")`, 'give the file "ovlnet plan --out" wrote (the JSON of "plan -o json" or "diff -o json" is not one)');
  }
  if (head.version !== SAVED_PLAN_VERSION) {
    throw new PlanFileError(`${path}: plan file version ${String(head.version)}; this ovlnet reads version ${SAVED_PLAN_VERSION}`, AGAIN.replace('again', 'with this ovlnet'));
  }
  const { savedPlanSchema } = await import('./saved-plan-schema.js');
  const parsed = savedPlanSchema(SAVED_PLAN_FORMAT, SAVED_PLAN_VERSION).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PlanFileError(`${path}: not a valid plan file: ${issue.path.join('.') || '(top)'}: ${issue.message}`, AGAIN);
  }
  const { checksum, ...doc } = parsed.data;
  if (checksumOf(doc) !== checksum || changesFingerprint(doc.changes) !== doc.fingerprints.changes) {
    throw new PlanFileError(`${path}: the plan file was modified after "ovlnet plan --out" wrote it (checksum mismatch); refusing to apply it`, AGAIN);
  }
  return parsed.data;
}

export interface CurrentState {
  target: PlanTarget;
  settings: PlanSettings;
  fingerprints: Fingerprints;
}

/**
 * Whether `saved` may be applied to the state just read. Throws a
 * PlanFileError when the file is for another node, namespace, backend or
 * settings; a StalePlanError naming the state that moved.
 */
export function checkSavedPlan(path: string, saved: SavedPlan, now: CurrentState): void {
  const t = saved.target;
  const ns = (n: string | null) => (n === null ? 'the host namespace' : `namespace ${n}`);
  if (t.netns !== now.target.netns) throw new PlanFileError(`${path}: made for ${ns(t.netns)}, not ${ns(now.target.netns)}`, `apply it with --netns as it was planned, or ${AGAIN}`);
  if (t.node !== now.target.node) throw new PlanFileError(`${path}: made for node ${t.node}, this is node ${now.target.node}`, `apply it on ${t.node} (or with --node ${t.node}), or ${AGAIN}`);
  if (t.backend !== now.target.backend) throw new PlanFileError(`${path}: made for the ${t.backend} backend; the source now says ${now.target.backend}`, AGAIN);
  const keys = [...new Set([...Object.keys(saved.settings), ...Object.keys(now.settings)])].sort();
  const differ = keys.filter((k) => (saved.settings[k] ?? null) !== (now.settings[k] ?? null));
  if (differ.length) {
    const what = differ.map((k) => `${k}: ${String(saved.settings[k] ?? null)} in the plan, ${String(now.settings[k] ?? null)} now`).join('; ');
    throw new PlanFileError(`${path}: planned with other settings (${what})`, `give apply the settings the plan was made with, or ${AGAIN}`);
  }
  const moved = (['source', 'host'] as const).filter((k) => saved.fingerprints[k] !== now.fingerprints[k]);
  if (moved.length) {
    const what = moved.length === 2 ? 'both the source state and the host state have' : moved[0] === 'source' ? 'the source state (its config or nodes) has' : 'the host state (ovlnet\'s devices, routes, neighbours, fdb or rules) has';
    // Read from another address, the "move" may be the address: say so.
    const where = moved.includes('source') && t.source !== sourceWithoutCredentials(now.target.source) ? ` (planned from ${t.source}, read now from ${sourceWithoutCredentials(now.target.source)})` : '';
    throw new StalePlanError(`${path}: saved plan is stale: ${what} changed since it was made (${saved.createdAt})${where}; nothing was changed`, AGAIN, moved);
  }
  if (saved.fingerprints.changes !== now.fingerprints.changes) {
    throw new StalePlanError(`${path}: the same state gives other changes than the ones saved (the plan was made by ovlnet ${saved.ovlnetVersion}); nothing was changed`, AGAIN, []);
  }
}

/** The settings of the options that shape the plan: what is compared between plan and apply. */
export function planSettings(o: Record<string, unknown>): PlanSettings {
  const out: PlanSettings = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'netns' || k === 'node' || k === 'offline') continue;
    if (typeof v === 'string' || typeof v === 'boolean') out[k] = v;
  }
  return withoutSecrets(out);
}
