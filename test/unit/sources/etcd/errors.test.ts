// etcd errors say what is wrong, where, and what to check (sources/etcd/errors.ts),
// from the messages gRPC and etcd3 really give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdAuthenticationFailedError, GRPCDeadlineExceededError, GRPCResourceExhastedError, GRPCUnavailableError } from 'etcd3';
import { LIST_PAGE, smallerPage } from '../../../../src/sources/etcd/client.js';
import { explainEtcdError } from '../../../../src/sources/etcd/errors.js';

const ctx = { endpoints: ['10.0.0.1:2379', 'etcd-b:2379'], what: 'reading /coreos.com/network/subnets/', prefix: '/coreos.com/network', tls: false, callTimeoutMs: 2000 };

test('explainEtcdError', () => {
  const cases: Array<[Error, boolean, RegExp, RegExp | undefined, boolean?]> = [
    [new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.1:2379. Resolution note: '),
      false, /^cannot reach etcd at 10\.0\.0\.1:2379, etcd-b:2379 \(reading \/coreos\.com\/network\/subnets\/\): connection refused by 10\.0\.0\.1:2379 \(ECONNREFUSED\)$/, /is etcd running there and listening on that port/],
    [new GRPCUnavailableError('14 UNAVAILABLE: Name resolution failed for target dns:etcd-b:2379'),
      false, /cannot resolve etcd-b$/, /DNS/],
    [new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 2.002s,LB pick: 2.001s (waiting for name resolution)'),
      false, /no address for the host name yet \(DNS resolution timed out\)/, /DNS/],
    [new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 2.001s,remote_addr=10.0.0.1:2379'),
      false, /no answer within 2 s$/, /TLS-only etcd needs etcds:\/\//],
    [new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'), true, /no answer within 2 s$/, /does it speak TLS/],
    [new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: Error: connect EHOSTUNREACH 10.0.0.1:2379'),
      false, /EHOSTUNREACH 10\.0\.0\.1:2379/, /firewall/],
    [new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: Error: 0C0FE9B8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'),
      true, /TLS handshake failed: .*wrong version number/, /--etcd-cafile/],
    [new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: Error: self-signed certificate in certificate chain'),
      true, /TLS handshake failed/, /CA that signed/],
    [new Error('Execution prevented because the circuit breaker is open'),
      false, /every endpoint failed just before/, /is etcd running/],
  ];
  for (const [err, tls, msg, hint] of cases) {
    const x = explainEtcdError(err, { ...ctx, tls });
    assert.match(x.message, msg, err.message);
    if (hint) assert.match(x.hint ?? '', hint, err.message);
    assert.not.match(x.message, /circuit breaker/, 'never the breaker\'s words');
    assert.ok(x.transient, `${err.message}: worth retrying`);
  }
  const big = explainEtcdError(new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: Received message larger than max (70000123 vs. 67108864)'), ctx);
  assert.not.ok(big.transient);
  assert.is(big.message, 'etcd at 10.0.0.1:2379, etcd-b:2379: the answer to reading /coreos.com/network/subnets/ is larger than this client accepts (70000123 bytes, the limit is 67108864)');
  assert.not.match(big.message, /cannot reach/);
  const auth = explainEtcdError(new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'), ctx);
  assert.not.ok(auth.transient);
  assert.match(auth.message, /authentication failed/);
});

test('smallerPage: a page over the receive limit is read again in pages that fit etcd\'s largest values', () => {
  const steps = [LIST_PAGE];
  while (steps[steps.length - 1] > 1) steps.push(smallerPage(steps[steps.length - 1]));
  assert.equal(steps, [5000, 40, 5, 1]);
  // 40 values of etcd's default 1.5 MiB limit fit in the 64 MiB receive limit.
  assert.ok(40 * 1.5 * 1024 * 1024 < 64 * 1024 * 1024);
});

test.run();
