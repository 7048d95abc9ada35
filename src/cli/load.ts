// Opens the source from the command line options and takes a snapshot.
import { parseTxOffloadMode } from '../backends/vxlan/offload.js';
import { UsageError } from '../errors.js';
import type { CycleOptions, Snapshot } from '../engine/cycle.js';
import type { PlanSnapshot } from '../engine/plan-snapshot.js';
import { openSource, resolveSourceURI } from '../sources/index.js';
import type { Source, SourceOptions } from '../sources/types.js';
import type { Context, GlobalOptions, OutputFormat } from './context.js';
import { withSpinner } from './spinner.js';

/**
 * The local node's name: --node, else (Kubernetes source) NODE_NAME, which
 * flannel's DaemonSet sets from spec.nodeName; else undefined (the engine
 * tries the host name, then this host's addresses).
 */
export function localNodeName(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (o.node) return o.node;
  return resolveSourceURI(o.source, env).startsWith('kube:') && env.NODE_NAME ? env.NODE_NAME : undefined;
}

/** `extra`: how the command uses the source (SourceOptions: `once`, `leaseExpiries`). */
export async function openFromOptions(o: GlobalOptions, extra: Pick<SourceOptions, 'leaseExpiries' | 'once'> = {}): Promise<Source> {
  return openSource(resolveSourceURI(o.source), {
    ...extra,
    netns: o.netns,
    etcdCaFile: o.etcdCafile,
    etcdCertFile: o.etcdCertfile,
    etcdKeyFile: o.etcdKeyfile,
    etcdUsername: o.etcdUsername,
    etcdPassword: o.etcdPassword,
    netConf: o.netConf,
    annotationPrefix: o.annotationPrefix,
    nodeName: localNodeName(o),
  });
}

export function cycleOptions(o: GlobalOptions, offline = false): CycleOptions {
  return {
    netns: o.netns, node: localNodeName(o), publicIP: o.publicIp, iface: o.iface, offline,
    ...(o.publicIpv6 !== undefined ? { publicIPv6: o.publicIpv6 } : {}),
    txOffload: parseTxOffloadMode(o.disableTxOffload), ipMasq: o.ipMasq ?? false,
    // flannel's default: on.
    forwardRules: o.iptablesForwardRules ?? true,
    // Otherwise undefined: the engine asks iptables whether it takes --random-fully.
    ...(o.ipMasqFullyRandomDisable ? { masqRandomFully: false } : {}),
  };
}

/** Opens the source, runs `work` on it under the spinner, and always closes it. */
async function withSource<T>(o: GlobalOptions, ctx: Context | undefined, work: (source: Source) => Promise<T>, leaseExpiries: boolean): Promise<T> {
  const uri = resolveSourceURI(o.source);
  const run = async () => {
    // plan, diff, apply and doctor load the source once; only doctor shows a lease's expiry (one etcd call per lease).
    const source = await openFromOptions(o, { once: true, leaseExpiries });
    try {
      return await work(source);
    } finally {
      await source.close();
    }
  };
  return ctx ? withSpinner(ctx, `reading ${uri} and the host's network state`, run) : run();
}

/** `leaseExpiries`: doctor shows the local lease's expiry; diff and apply plan without it (SourceOptions.leaseExpiries). */
export async function takeSnapshot(o: GlobalOptions, ctx?: Context, { leaseExpiries = false } = {}): Promise<Snapshot> {
  return withSource(o, ctx, async (source) => {
    // Each command loads only its own path: plan never loads the write path, diff/apply not the plan-only one.
    const { snapshot } = await import('../engine/cycle.js');
    return snapshot(source, cycleOptions(o));
  }, leaseExpiries);
}

/** What `plan` needs: the desired state, with only the host state it depends on (see engine/plan-snapshot.ts). */
export async function takePlanSnapshot(o: GlobalOptions, ctx?: Context): Promise<PlanSnapshot> {
  return withSource(o, ctx, async (source) => {
    const { planSnapshot } = await import('../engine/plan-snapshot.js');
    return planSnapshot(source, cycleOptions(o, true));
  }, false);
}

export function outputFormat(o: GlobalOptions, allowed: OutputFormat[]): OutputFormat {
  const f = (o.output ?? 'table') as OutputFormat;
  if (!allowed.includes(f)) throw new UsageError(`-o ${o.output}: expected one of ${allowed.join(', ')}`);
  return f;
}
