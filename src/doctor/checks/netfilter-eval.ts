// Follows a packet through an iptables filter chain as iptables-save prints
// it, far enough to tell whether it is accepted or dropped. Matches it can
// not judge (conntrack state, marks, sets...) make a rule "maybe": such a
// rule is skipped, and noted when it could have decided. Pure.
import { parseSave } from '../../host/iptables.js';
import { parseIP, parsePrefix, prefixContains, prefixesOverlap, type Prefix } from '../../model/ip.js';

export interface FilterTable {
  /** Built-in chains' policies (ACCEPT, DROP); user chains have none. */
  policies: Map<string, string>;
  rules: Array<{ chain: string; spec: string }>;
}

/** A packet as far as it is known; an undefined field matches "maybe". */
export interface Packet {
  proto?: string;
  src?: Prefix;
  dst?: Prefix;
  dport?: number;
  inIface?: string;
  outIface?: string;
}

export interface Verdict {
  verdict: 'accept' | 'drop';
  /** The rule or policy that decided: `-A INPUT -p udp ... -j DROP`, `FORWARD policy DROP`. */
  by: string;
  /** Rules skipped because they might match and would have decided. */
  uncertain: string[];
}

/** The `*filter` table of iptables-save output. */
export function parseFilterSave(text: string): FilterTable {
  // The same iptables-save parser the rule sets use; doctor reads its filter block.
  const f = parseSave(text).filter;
  return { policies: new Map(Object.entries(f?.policies ?? {})), rules: f?.rules ?? [] };
}

/** Shell-like words of a rule spec (iptables-save quotes comments with "). */
export function specWords(spec: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(spec))) out.push(m[1] !== undefined ? m[1] : m[2]);
  return out;
}

type Tri = 'yes' | 'no' | 'maybe';

function prefixOf(s: string): Prefix | undefined {
  return parsePrefix(s.includes('/') ? s : `${s}/${parseIP(s)?.family === 6 ? 128 : 32}`);
}

function matchPrefix(rule: string, pkt: Prefix | undefined): Tri {
  const p = prefixOf(rule);
  if (!p) return 'maybe';
  if (p.len === 0) return 'yes';
  if (!pkt) return 'maybe';
  if (pkt.family !== p.family) return 'no';
  if (prefixContains(p, pkt)) return 'yes';
  return prefixesOverlap(p, pkt) ? 'maybe' : 'no';
}

function matchIface(rule: string, pkt: string | undefined): Tri {
  if (rule === '+') return 'yes';
  if (pkt === undefined) return 'maybe';
  return (rule.endsWith('+') ? pkt.startsWith(rule.slice(0, -1)) : pkt === rule) ? 'yes' : 'no';
}

function matchPorts(rule: string, port: number | undefined): Tri {
  if (port === undefined) return 'maybe';
  for (const part of rule.split(',')) {
    const [a, b] = part.split(':');
    const lo = a === '' ? 0 : Number(a);
    const hi = b === undefined ? lo : b === '' ? 65535 : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) return 'maybe';
    if (port >= lo && port <= hi) return 'yes';
  }
  return 'no';
}

/** Whether a rule's matches hold for the packet, and its target. */
export function matchRule(spec: string, pkt: Packet): { match: Tri; target?: string } {
  const w = specWords(spec);
  let match: Tri = 'yes';
  let target: string | undefined;
  const and = (t: Tri) => {
    if (match === 'no' || t === 'no') match = 'no';
    else if (t === 'maybe') match = 'maybe';
  };
  for (let i = 0; i < w.length; i++) {
    let neg = false;
    if (w[i] === '!') { neg = true; i++; }
    const opt = w[i];
    // An option's values are the words up to the next option.
    const args: string[] = [];
    while (i + 1 < w.length && !w[i + 1].startsWith('-') && w[i + 1] !== '!') args.push(w[++i]);
    // `! --dport 80` or `--dport ! 80` (old style): either negates.
    let t: Tri;
    switch (opt) {
      case '-j': case '-g': case '--jump': case '--goto':
        // What follows the target are its own options (--reject-with, --log-prefix), not matches.
        target = args[0];
        return { match, target };
      case '-m': case '--match': case '--comment': continue;
      case '-s': case '--source': t = matchPrefix(args[0] ?? '', pkt.src); break;
      case '-d': case '--destination': t = matchPrefix(args[0] ?? '', pkt.dst); break;
      case '-p': case '--protocol': {
        const p = (args[0] ?? '').toLowerCase();
        t = p === 'all' || p === '0' ? 'yes' : pkt.proto === undefined ? 'maybe' : p === pkt.proto ? 'yes' : 'no';
        break;
      }
      case '--dport': case '--destination-port': case '--dports': case '--destination-ports': t = matchPorts(args[0] ?? '', pkt.dport); break;
      case '-i': case '--in-interface': t = matchIface(args[0] ?? '', pkt.inIface); break;
      case '-o': case '--out-interface': t = matchIface(args[0] ?? '', pkt.outIface); break;
      default: t = 'maybe';
    }
    if (neg && t !== 'maybe') t = t === 'yes' ? 'no' : 'yes';
    and(t);
  }
  return { match, target };
}

const DECIDES = new Set(['ACCEPT', 'DROP', 'REJECT']);

/** The verdict of built-in chain `chain` (INPUT, FORWARD) for the packet. */
export function evaluateChain(table: FilterTable, chain: string, pkt: Packet): Verdict {
  const uncertain: string[] = [];
  const byChain = new Map<string, string[]>();
  for (const r of table.rules) {
    const list = byChain.get(r.chain) ?? [];
    list.push(r.spec);
    byChain.set(r.chain, list);
  }
  const walk = (name: string, depth: number): Verdict | undefined => {
    if (depth > 16) return undefined;
    for (const spec of byChain.get(name) ?? []) {
      const { match, target } = matchRule(spec, pkt);
      if (match === 'no' || !target) continue;
      const jumps = byChain.has(target);
      if (match === 'maybe') {
        if (DECIDES.has(target) || jumps) uncertain.push(`-A ${name} ${spec}`);
        continue;
      }
      if (target === 'ACCEPT') return { verdict: 'accept', by: `-A ${name} ${spec}`, uncertain };
      if (target === 'DROP' || target === 'REJECT') return { verdict: 'drop', by: `-A ${name} ${spec}`, uncertain };
      if (target === 'RETURN') return undefined;
      if (byChain.has(target)) {
        const v = walk(target, depth + 1);
        if (v) return v;
      }
    }
    return undefined;
  };
  const v = walk(chain, 0);
  if (v) return v;
  const policy = table.policies.get(chain) ?? 'ACCEPT';
  return { verdict: policy === 'ACCEPT' ? 'accept' : 'drop', by: `${chain} policy ${policy}`, uncertain };
}
