// The nat table in iptables-save / iptables-restore form. Pure: parses what
// `iptables-save -t nat` prints and renders the input one `iptables-restore
// --noflush` run applies atomically (no per-rule process).
import { MASQ_CHAIN, MASQ_COMMENT, MASQ_JUMP_SPEC } from '../backends/masq.js';
import type { NatRuleEntry, NatState } from '../model/types.js';

const CHAIN_RE = /^[A-Za-z0-9_-]{1,28}$/;

/** The `*nat` block of iptables-save output; other tables and comments are ignored. */
export function parseNatSave(text: string): NatState {
  const state: NatState = { chains: [], rules: [] };
  let inNat = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      inNat = line === '*nat';
      continue;
    }
    if (!inNat || line === '' || line.startsWith('#')) continue;
    if (line === 'COMMIT') {
      inNat = false;
      continue;
    }
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (CHAIN_RE.test(name)) state.chains.push(name);
      continue;
    }
    const m = /^-A (\S+) (.+)$/.exec(line);
    if (m) state.rules.push({ chain: m[1], spec: m[2].replace(/\s+/g, ' ').trim() });
  }
  return state;
}

/** A rule spec that carries ovlnet's comment (and so is ovlnet's). */
export function isOvlnetSpec(spec: string): boolean {
  return spec.includes(`--comment "${MASQ_COMMENT}"`);
}

/** Rules of a nat state in one chain, in table order. */
export function chainRules(state: NatState | undefined, chain: string): string[] {
  return (state?.rules ?? []).filter((r) => r.chain === chain).map((r) => r.spec);
}

function checkSpec(spec: string): string {
  // A spec is rendered from typed values (plan) or read back from
  // iptables-save; either way it is one line, and restore reads lines.
  if (/[\n\r]/.test(spec)) throw new Error(`refusing to render iptables rule ${JSON.stringify(spec)}`);
  return spec;
}

/**
 * Restore input that makes ovlnet's masquerade state match `desired`:
 * declaring the chain creates it, or flushes it under --noflush, so the
 * chain is rewritten whole and in order; the jump is added once, first in
 * POSTROUTING (so no other masquerading rule sees pod traffic before it),
 * and duplicates of it removed.
 */
export function renderMasqRestore(desired: NatRuleEntry[], actual: NatState | undefined): string {
  const chainRulesWanted = desired.filter((e) => e.chain === MASQ_CHAIN);
  const jumps = chainRules(actual, 'POSTROUTING').filter((s) => s === MASQ_JUMP_SPEC).length;
  const wantJump = desired.some((e) => e.chain === 'POSTROUTING' && e.spec === MASQ_JUMP_SPEC);
  const lines = ['*nat', `:${MASQ_CHAIN} - [0:0]`];
  for (const e of chainRulesWanted) lines.push(`-A ${MASQ_CHAIN} ${checkSpec(e.spec)}`);
  if (wantJump && jumps === 0) lines.push(`-I POSTROUTING 1 ${MASQ_JUMP_SPEC}`);
  for (let i = wantJump ? 1 : 0; i < jumps; i++) lines.push(`-D POSTROUTING ${MASQ_JUMP_SPEC}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export interface NatCleanup {
  /** ovlnet's rules to delete, chain by chain. */
  rules: NatRuleEntry[];
  /** Delete the chain itself (it holds nothing but ovlnet's rules and nothing foreign jumps to it). */
  deleteChain: boolean;
}

/** Restore input removing ovlnet's masquerade rules; empty when there is nothing to remove. */
export function renderNatCleanup(c: NatCleanup): string {
  if (c.rules.length === 0 && !c.deleteChain) return '';
  const lines = ['*nat'];
  for (const r of c.rules) {
    // Rules of a chain that goes as a whole are flushed with it.
    if (c.deleteChain && r.chain === MASQ_CHAIN) continue;
    lines.push(`-D ${r.chain} ${checkSpec(r.spec)}`);
  }
  if (c.deleteChain) lines.push(`:${MASQ_CHAIN} - [0:0]`, `-X ${MASQ_CHAIN}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The same as shell commands, for `ovlnet plan -o commands` on an empty host. */
export function masqCommands(desired: NatRuleEntry[]): string[] {
  if (desired.length === 0) return [];
  const out = [`iptables -t nat -N ${MASQ_CHAIN}`];
  for (const e of desired) {
    if (e.chain === MASQ_CHAIN) out.push(`iptables -t nat -A ${MASQ_CHAIN} ${checkSpec(e.spec)}`);
  }
  if (desired.some((e) => e.chain === 'POSTROUTING')) out.push(`iptables -t nat -I POSTROUTING 1 ${MASQ_JUMP_SPEC}`);
  return out;
}
