// A problem as JSON: the same fields in every document (diff, apply, plan,
// nodes, cleanup), so a program can filter on `code`, `node` and `field`
// rather than parse the `message`, which stays for humans. Pure, and it
// imports nothing: every command's view loads it.
import type { Problem, ProblemCode } from '../model/types.js';

/** `node NAME (ORIGIN)` with an optional `.FIELD`: the subject validation writes. */
const NODE_SUBJECT = /^node (\S+) \([^)]*\)(?:\.(\S+))?$|^node (\S+)$/;

/** What a problem created without a code is, from its subject: a node, a setting, or a plain warning. */
function codeOf(p: Problem, node: string | undefined): ProblemCode {
  if (p.message.startsWith('kept:')) return 'kept';
  if (node) return 'node';
  if (/^(Backend\.|--|[A-Za-z]+Network\b)/.test(p.subject) || p.subject.includes(': IPv6Network')) return 'config';
  return 'warning';
}

export interface ProblemJSON {
  code: ProblemCode;
  subject: string;
  message: string;
  node?: string;
  field?: string;
  value?: string;
  conflictsWith?: string[];
  hint?: string;
}

export function problemJSON(p: Problem): ProblemJSON {
  const m = NODE_SUBJECT.exec(p.subject);
  const node = p.node ?? m?.[1] ?? m?.[3];
  const field = p.field ?? m?.[2];
  return {
    code: p.code ?? codeOf(p, node),
    subject: p.subject,
    message: p.message,
    ...(node ? { node } : {}),
    ...(field ? { field } : {}),
    ...(p.value !== undefined ? { value: p.value } : {}),
    ...(p.conflictsWith ? { conflictsWith: p.conflictsWith } : {}),
    ...(p.hint ? { hint: p.hint } : {}),
  };
}
