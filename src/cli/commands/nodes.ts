// ovlnet nodes: the source's view of the cluster, validated, as a table.
import { backendOf } from '../../backends/registry.js';
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { openFromOptions, outputFormat } from '../load.js';
import { validateConfig } from '../../validate/index.js';
import { validateNode } from '../../validate/nodes.js';
import { EXIT_OK } from '../exit.js';
import { withSpinner } from '../spinner.js';
import { resolveSourceURI } from '../../sources/index.js';
import { renderTable } from '../../render/table.js';
import type { Node, Problem } from '../../model/types.js';

function expiry(n: Node, now: number): string {
  if (n.expiresAt === undefined) return '';
  if (n.expiresAt === null) return 'reservation';
  const s = Math.round((n.expiresAt.getTime() - now) / 1000);
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export default async function nodes(o: GlobalOptions, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const state = await withSpinner(ctx, `reading ${resolveSourceURI(o.source)}`, async () => {
    const source = await openFromOptions(o);
    try {
      return await source.load();
    } finally {
      await source.close();
    }
  });
  const config = validateConfig(state.config);
  const problems: Problem[] = state.warnings.map((w) => ({ subject: 'source', message: w }));
  const valid: Node[] = [];
  for (const raw of state.nodes) {
    const r = validateNode(raw, config, state.macRequired ?? !state.namedNodes);
    if (r.node) valid.push(r.node);
    else problems.push(r.problem!);
  }
  const now = Date.now();
  const b = config.backend;
  const backend = backendOf(b).describe(b);
  if (format === 'json') {
    ctx.out(JSON.stringify({
      version: 1,
      network: config.network.text,
      subnetLen: config.subnetLen,
      backend: b,
      nodes: valid.map((n) => ({ name: n.name, subnet: n.subnet.text, publicIP: n.publicIP.text, vtepMAC: n.vtepMAC.text, expires: n.expiresAt === undefined ? undefined : n.expiresAt?.toISOString() ?? 'never' })),
      problems,
    }, null, 2));
    return EXIT_OK;
  }
  printProblems(ctx, problems);
  const withExpiry = valid.some((n) => n.expiresAt !== undefined);
  const head = ['Name', 'Subnet', 'Public IP', 'VTEP MAC', ...(withExpiry ? ['Expires'] : [])];
  const rows = valid.map((n) => [n.name, n.subnet.text, n.publicIP.text, n.vtepMAC.text, ...(withExpiry ? [expiry(n, now)] : [])]);
  ctx.out(`${ctx.style.bold('Network')} ${config.network.text}  subnet length /${config.subnetLen}  ${ctx.style.bold('Backend')} ${backend}`);
  ctx.out(valid.length ? renderTable(ctx.table, head, rows) : '(no nodes)');
  ctx.out(`${valid.length} node${valid.length === 1 ? '' : 's'}${problems.length ? `, ${problems.length} problem${problems.length === 1 ? '' : 's'} (above)` : ''}.`);
  return EXIT_OK;
}
