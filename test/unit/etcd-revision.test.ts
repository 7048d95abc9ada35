// Telling a reset etcd (restored from a snapshot, wiped) from a late answer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { storeWentBack, type StoreMark } from '../../src/sources/etcd/revision.js';

test('storeWentBack', () => {
  const seen: StoreMark = { revision: 120n, clusterID: '14841639068965178418' };
  const cases: Array<[StoreMark | undefined, { revision: string; cluster_id?: string }, RegExp | undefined]> = [
    [undefined, { revision: '5', cluster_id: '1' }, undefined],
    [seen, { revision: '120', cluster_id: seen.clusterID }, undefined],
    [seen, { revision: '121', cluster_id: seen.clusterID }, undefined],
    [seen, { revision: '119', cluster_id: seen.clusterID }, /revision went back from 120 to 119/],
    [seen, { revision: '1', cluster_id: seen.clusterID }, /revision went back from 120 to 1/],
    [seen, { revision: '500', cluster_id: '42' }, /cluster ID changed from cdf818194e3a8c32 to 2a/],
    [{ revision: 120n }, { revision: '121', cluster_id: '42' }, undefined],
  ];
  for (const [s, header, want] of cases) {
    const got = storeWentBack(s, header);
    if (want) assert.match(got ?? '', want, JSON.stringify(header));
    else assert.is(got, undefined, JSON.stringify(header));
  }
});

test.run();
