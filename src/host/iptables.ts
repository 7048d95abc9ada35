// iptables tables in iptables-save / iptables-restore form. Pure: parses what
// `iptables-save` prints and renders the input one `iptables-restore
// --noflush` run applies atomically (no per-rule process), for every rule set
// (backends/netfilter.ts) of one family at once.
import { RULE_SETS, ruleSetFor } from '../backends/netfilter.js';
import { familyOf } from '../backends/ruleset.js';
import type { Change, NatState, NetfilterRuleEntry, NetfilterTable, RuleSet, TableState } from '../model/types.js';

const CHAIN_RE = /^[A-Za-z0-9_-]{1,28}$/;
const TABLES: readonly NetfilterTable[] = ['nat', 'filter'];

/** The nat and filter blocks of iptables-save output; other tables and comments are ignored. */
export function parseSave(text: string): Partial<Record<NetfilterTable, TableState>> {
  const out: Partial<Record<NetfilterTable, TableState>> = {};
  let cur: TableState | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1) as NetfilterTable;
      cur = TABLES.includes(name) ? (out[name] = { chains: [], rules: [], policies: {} }) : undefined;
      continue;
    }
    if (!cur || line === '' || line.startsWith('#')) continue;
    if (line === 'COMMIT') {
      cur = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (!CHAIN_RE.test(name)) continue;
      cur.chains.push(name);
      if (policy && policy !== '-') cur.policies![name] = policy;
      continue;
    }
    const m = /^-A (\S+) (.+)$/.exec(line);
    if (m) cur.rules.push({ chain: m[1], spec: m[2].replace(/\s+/g, ' ').trim() });
  }
  return out;
}

/** The `*nat` block of iptables-save output (empty when there is none). */
export function parseNatSave(text: string): NatState {
  return parseSave(text).nat ?? { chains: [], rules: [], policies: {} };
}

/**
 * Whether an iptables of this `--version` output takes MASQUERADE
 * --random-fully: 1.6.2 and later, the test flannel's go-iptables makes.
 */
export function versionHasRandomFully(versionText: string): boolean {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(versionText);
  if (!m) return false;
  const [maj, min, patch] = m.slice(1).map(Number);
  return maj > 1 || (maj === 1 && (min > 6 || (min === 6 && patch >= 2)));
}

/** Rules of a table in one chain, in table order. */
export function chainRules(state: TableState | undefined, chain: string): string[] {
  return (state?.rules ?? []).filter((r) => r.chain === chain).map((r) => r.spec);
}

function checkSpec(spec: string): string {
  // A spec is rendered from typed values (plan) or read back from
  // iptables-save; either way it is one line, and restore reads lines.
  if (/[\n\r]/.test(spec)) throw new Error(`refusing to render iptables rule ${JSON.stringify(spec)}`);
  return spec;
}

const ruleOf = (c: Change) => (c.desired ?? c.actual) as NetfilterRuleEntry;

/**
 * The restore lines that carry one set's changes: when anything in the chain
 * changes, declaring the chain creates it, or flushes it under --noflush, and
 * its desired rules follow, so it is rewritten whole and in order; the jump
 * is appended to the hook (as flannel does) or its extra copies and older
 * forms deleted, as the diff said.
 */
function setLines(set: RuleSet, desired: NetfilterRuleEntry[], changes: Change[]): string[] {
  const lines: string[] = [];
  if (changes.some((c) => ruleOf(c).chain === set.chain)) {
    lines.push(`:${set.chain} - [0:0]`);
    for (const e of desired) if (e.chain === set.chain) lines.push(`-A ${set.chain} ${checkSpec(e.spec)}`);
  }
  for (const c of changes) {
    const e = ruleOf(c);
    if (e.chain !== set.hook) continue;
    if (c.action === 'delete') lines.push(`-D ${set.hook} ${checkSpec(e.spec)}`);
    else lines.push(`-A ${set.hook} ${checkSpec(e.spec)}`);
  }
  return lines;
}

/**
 * Restore input for one family's netfilter changes (and the desired rules of
 * that family): one block per table with changes; '' when there are none.
 */
export function renderRestore(desired: NetfilterRuleEntry[], changes: Change[]): string {
  const lines: string[] = [];
  for (const set of RULE_SETS) {
    const mine = changes.filter((c) => c.kind === set.table);
    if (!mine.length) continue;
    lines.push(`*${set.table}`, ...setLines(set, desired.filter((e) => e.kind === set.table), mine), 'COMMIT');
  }
  return lines.length ? [...lines, ''].join('\n') : '';
}

/** What cleanup removes of one set in one family. */
export interface RuleSetCleanup {
  set: RuleSet;
  family: 4 | 6;
  /** ovlnet's rules to delete, chain by chain. */
  rules: NetfilterRuleEntry[];
  /** Delete the chain itself (it holds nothing but ovlnet's rules and nothing foreign jumps to it). */
  deleteChain: boolean;
}

/** Restore input removing one family's rules; empty when there is nothing to remove. */
export function renderCleanup(items: RuleSetCleanup[]): string {
  const lines: string[] = [];
  for (const c of items) {
    if (c.rules.length === 0 && !c.deleteChain) continue;
    lines.push(`*${c.set.table}`);
    for (const r of c.rules) {
      // Rules of a chain that goes as a whole are flushed with it.
      if (c.deleteChain && r.chain === c.set.chain) continue;
      lines.push(`-D ${r.chain} ${checkSpec(r.spec)}`);
    }
    if (c.deleteChain) lines.push(`:${c.set.chain} - [0:0]`, `-X ${c.set.chain}`);
    lines.push('COMMIT');
  }
  return lines.length ? [...lines, ''].join('\n') : '';
}

/** The same as shell commands, for `ovlnet plan -o commands` on an empty host. */
export function ruleCommands(desired: NetfilterRuleEntry[]): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const tool = family === 6 ? 'ip6tables' : 'iptables';
    for (const table of TABLES) {
      const set = ruleSetFor(table);
      const rules = desired.filter((e) => e.kind === table && familyOf(e) === family);
      if (!rules.length) continue;
      out.push(`${tool} -t ${table} -N ${set.chain}`);
      for (const e of rules) if (e.chain === set.chain) out.push(`${tool} -t ${table} -A ${set.chain} ${checkSpec(e.spec)}`);
      for (const e of rules) {
        if (e.chain === set.hook) out.push(`${tool} -t ${table} -A ${set.hook} ${checkSpec(e.spec)}`);
      }
    }
  }
  return out;
}
