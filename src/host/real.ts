// The Host the engine runs against on a real machine (or in --netns): reads
// with ip/bridge/ethtool/iptables-save, writes with -batch processes,
// ethtool, sysctl and iptables-restore. execa through host/exec.ts, never a shell.
import type { Host, HostRead, ReadScope } from '../engine/host.js';
import type { OffloadEntry } from '../model/types.js';
import { KIND_LIST } from '../kinds/index.js';
import { loadRunner } from './exec.js';
import { readNetfilter, readNetfilterIfInstalled } from './netfilter.js';
import { readOffload } from './offload.js';
import { readSysctl } from './sysctl.js';
import { requireNetAdmin } from './privilege.js';
import { readHost, readPlanHost } from './read.js';
import { writePhases } from './write.js';
import type { BatchWriters } from './batch-writer.js';

/** The driver of the kinds with reader `name` (loaded now: only when read). */
async function driverOf(name: string) {
  const spec = KIND_LIST.find((k) => k.reader?.name === name);
  if (!spec?.driver) throw new Error(`no kind reads ${JSON.stringify(name)} with a driver`);
  return spec.driver();
}

/** `writers`: the daemon's long-lived ip/bridge batch processes (batch-writer.ts); without, a process per batch. */
export function realHost(netns: string | undefined, writers?: BatchWriters, canWrite: () => void = requireNetAdmin): Host {
  // The capability check reads /proc/self/status (0.1-0.3 ms, a daemon's
  // every event cycle): once it passed, this process keeps CAP_NET_ADMIN
  // (ovlnet never drops it), so it is not asked again.
  let allowed = false;
  return {
    ready: loadRunner,
    async read(scope: ReadScope): Promise<HostRead> {
      const out: HostRead = {};
      if (scope.kernel) out.kernel = await readHost(netns, scope.kernel.fdbDevices);
      if (scope.links) out.links = (await readPlanHost(netns, false)).links;
      for (const { dev, features } of scope.offload ?? []) {
        (out.offload ??= [] as OffloadEntry[]).push(...await readOffload(netns, dev, [...features]));
      }
      if (scope.sysctl?.length) out.sysctl = await readSysctl(netns, scope.sysctl);
      const nf = scope.netfilter;
      for (const [name, ask] of Object.entries(scope.readers ?? {})) (out.readers ??= {})[name] = await (await driverOf(name)).read!(netns, ask);
      if (nf) out.netfilter = nf.ifInstalled ? await readNetfilterIfInstalled(netns, nf.families) : await readNetfilter(netns, nf.families);
      return out;
    },
    async write(phases) {
      if (!allowed && phases.some((p) => p.length)) {
        canWrite();
        allowed = true;
      }
      return writePhases(phases, netns, writers);
    },
  };
}
