import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Problem } from '../../../src/model/types.js';
import { problemJSON } from '../../../src/render/problems.js';

test('problemJSON: fields given are kept; without them, node and field come from the subject', () => {
  const rows: Array<[Problem, object]> = [
    [{ subject: 'node b (nodes[1]).subnet', message: 'm', code: 'overlapping-subnet', node: 'b', field: 'subnet', value: '198.18.1.0/24', conflictsWith: ['a'] },
      { code: 'overlapping-subnet', subject: 'node b (nodes[1]).subnet', message: 'm', node: 'b', field: 'subnet', value: '198.18.1.0/24', conflictsWith: ['a'] }],
    [{ subject: 'node b (nodes[1]).publicIP', message: 'm' }, { code: 'node', subject: 'node b (nodes[1]).publicIP', message: 'm', node: 'b', field: 'publicIP' }],
    [{ subject: 'node b', message: 'no IPv6 subnet' }, { code: 'node', subject: 'node b', message: 'no IPv6 subnet', node: 'b' }],
    [{ subject: 'Backend.MTU', message: 'm' }, { code: 'config', subject: 'Backend.MTU', message: 'm' }],
    [{ subject: '--iptables-forward-rules', message: 'm', hint: 'h' }, { code: 'config', subject: '--iptables-forward-rules', message: 'm', hint: 'h' }],
    [{ subject: 'link flannel.2', message: 'kept: not ours' }, { code: 'kept', subject: 'link flannel.2', message: 'kept: not ours' }],
    [{ subject: 'source', message: 'w', code: 'source-warning' }, { code: 'source-warning', subject: 'source', message: 'w' }],
    [{ subject: 'host', message: 'x' }, { code: 'warning', subject: 'host', message: 'x' }],
  ];
  for (const [p, want] of rows) assert.equal(problemJSON(p), want, p.subject);
});

test.run();
