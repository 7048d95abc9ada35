// Telling a reset etcd from a late answer. etcd's revision only grows and
// reads are linearizable, so an answer to a request sent after revision R was
// seen carries R or more, from the same cluster. Less, or another cluster ID,
// means the store was replaced: restored from a snapshot, its data dir wiped,
// or the endpoints now lead to another cluster. Pure.

export interface StoreMark {
  revision: bigint;
  /** etcd's cluster ID (a uint64 as a decimal string); absent when not known. */
  clusterID?: string;
}

/** Why the store went back since `seen`, or undefined when it did not. */
export function storeWentBack(seen: StoreMark | undefined, header: { revision: string; cluster_id?: string }): string | undefined {
  if (!seen) return undefined;
  if (seen.clusterID && header.cluster_id && header.cluster_id !== seen.clusterID && header.cluster_id !== '0') {
    return `the cluster ID changed from ${BigInt(seen.clusterID).toString(16)} to ${BigInt(header.cluster_id).toString(16)}`;
  }
  const rev = BigInt(header.revision);
  if (rev < seen.revision) return `the revision went back from ${seen.revision} to ${rev}`;
  return undefined;
}
