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
import { nodesJSON, nodesText } from '../../render/views/nodes.js';
import type { Node, Problem } from '../../model/types.js';

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
  const problems: Problem[] = state.warnings.map((w): Problem => ({ subject: 'source', message: w, code: 'source-warning' }));
  const valid: Node[] = [];
  for (const raw of state.nodes) {
    const r = validateNode(raw, config, state.macRequired ?? !state.namedNodes);
    if (r.node) valid.push(r.node);
    else problems.push(r.problem!);
  }
  const backend = backendOf(config.backend);
  const view = { config, backend: backend.describe(config.backend), columns: backend.table.nodeColumns, nodes: valid, problems, now: Date.now() };
  if (format === 'json') {
    ctx.out(JSON.stringify(nodesJSON(view), null, 2));
    return EXIT_OK;
  }
  printProblems(ctx, problems);
  ctx.out(nodesText(view, ctx.style, ctx.table));
  return EXIT_OK;
}
