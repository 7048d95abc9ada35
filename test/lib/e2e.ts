// Shared steps of the end-to-end tests: a cluster file in a topology and
// the CLI run against one of its nodes.
import * as assert from 'uvu/assert';
import { ovlnet, type CliOptions, type CliResult } from './cli.js';
import type { Test } from 'uvu';
import { clusterYAML, createTopology, type NodeSpec, type TestNode, type Topology } from './netns.js';

export interface SharedCluster {
  t: Topology;
  c: Cluster;
  nodes: TestNode[];
}

/**
 * One topology shared by every test of a file: made before the first test,
 * with the cluster file listing `fileNodes` (default: the topology's nodes)
 * and, with `converge`, applied on every node; always destroyed after the
 * last test. The returned object is filled in by the before hook.
 */
export function sharedCluster(suite: Test, specs: NodeSpec[], opts: { converge?: boolean; fileNodes?: NodeSpec[] } = {}): SharedCluster {
  const env = {} as SharedCluster;
  suite.before(async () => {
    env.t = await createTopology(specs);
    env.c = new Cluster(env.t);
    env.nodes = env.t.nodes;
    env.c.writeNodes(opts.fileNodes ?? specs);
    if (opts.converge) await Promise.all(env.nodes.map((n) => env.c.apply(n)));
  });
  suite.after(async () => {
    await env.t?.destroy();
  });
  return env;
}

/**
 * A test on a shared topology: `fn` may break the converged state; the nodes
 * named are then converged again from `full` (with --force, whatever fn left),
 * even when fn failed, so the next test starts clean.
 */
export async function scenario(c: Cluster, full: NodeSpec[], nodes: TestNode[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } finally {
    c.writeNodes(full);
    await Promise.all(nodes.map((n) => c.apply(n, ['--force'])));
  }
}

export class Cluster {
  readonly path: string;
  constructor(readonly t: Topology, readonly backend?: string, name = 'cluster.yaml') {
    this.path = `${t.tmp}/${name}`;
  }
  get src(): string {
    return `file:${this.path}`;
  }
  write(text: string): void {
    this.t.file(this.path.slice(this.t.tmp.length + 1), text);
  }
  writeNodes(nodes: NodeSpec[], backend = this.backend): void {
    this.write(clusterYAML(nodes, backend));
  }
  run(cmd: string, n: TestNode, extra: string[] = [], opts: CliOptions = {}): Promise<CliResult> {
    return ovlnet([cmd, '--source', this.src, '--node', n.name, '--netns', n.ns, ...extra], opts);
  }
  async apply(n: TestNode, extra: string[] = [], opts: CliOptions = {}): Promise<CliResult> {
    const r = await this.run('apply', n, extra, opts);
    assert.is(r.code, 0, `apply on ${n.name} failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  }
  async diffClean(n: TestNode): Promise<void> {
    const r = await this.run('diff', n);
    assert.is(r.code, 0, `diff on ${n.name} not clean:\n${r.stdout}\n${r.stderr}`);
  }
}

/** stderr of a failed command: exactly one `ovlnet:` line, optionally a `hint:` line, no stack trace. */
export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.is(r.code, 1, `exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ovlnet: '));
  assert.is(errors.length, 1, `one error line:\n${r.stderr}`);
  assert.match(errors[0], pattern);
  const others = lines.filter((l) => !l.startsWith('ovlnet: ') && !l.startsWith('hint: ') && !l.startsWith('warning: '));
  assert.equal(others, [], `nothing but the error, its hint and warnings:\n${r.stderr}`);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
}

/** Runs fn over items, at most `limit` at a time (2 cores: a little overlap hides process start-up). */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

/** One node line of a cluster file, every value quoted as JSON (valid YAML), whatever it holds. */
export function nodeLine(n: Record<string, unknown>): string {
  return `  - { ${Object.entries(n).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} }`;
}
