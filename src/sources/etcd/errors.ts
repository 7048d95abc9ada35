// What an etcd client error means for the operator: what is wrong, where,
// and what to check. Pure (unit tested with the messages gRPC gives).
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCDeadlineExceededError, isRecoverableError } from 'etcd3';

export interface EtcdErrorContext {
  /** `host:port` of every endpoint. */
  endpoints: string[];
  /** What was being done ("reading /coreos.com/network/subnets"). */
  what: string;
  prefix: string;
  tls: boolean;
  /** The client's time limit for one call, for "no answer within …". */
  callTimeoutMs: number;
}

export interface ExplainedError {
  message: string;
  hint?: string;
  /** Worth retrying (an endpoint down, a leader election); else fail at once. */
  transient: boolean;
}

/** The client's circuit breakers answer for etcd after failures: never the cause worth showing. */
export function isBreakerError(err: Error): boolean {
  return /circuit breaker/i.test(err.message);
}

/** gRPC's "Received message larger than max": the answer was over the client's receive limit. */
export function isTooLargeError(err: Error): boolean {
  return /RESOURCE_EXHAUSTED/.test(err.message) && /larger than max/i.test(err.message);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').replace(/\.? ?Resolution note:.*$/, '').replace(/Last error: Error: /, 'last error: ').trim().slice(0, 200);

export function explainEtcdError(err: Error, c: EtcdErrorContext): ExplainedError {
  const where = `etcd at ${c.endpoints.join(', ')}`;
  const msg = err.message ?? String(err);
  if (err instanceof EtcdAuthenticationFailedError) {
    return { transient: false, message: `${where}: authentication failed (${c.what})`, hint: 'check OVLNET_ETCD_USERNAME and OVLNET_ETCD_PASSWORD' };
  }
  if (err instanceof EtcdPermissionDeniedError) {
    return { transient: false, message: `${where}: permission denied (${c.what} under ${c.prefix})`, hint: 'the etcd user needs read/write access to the prefix' };
  }
  if (isTooLargeError(err)) {
    const m = /\((\d+) vs\.? (\d+)\)/.exec(msg);
    const size = m ? ` (${m[1]} bytes, the limit is ${m[2]})` : '';
    return {
      transient: false,
      message: `${where}: the answer to ${c.what} is larger than this client accepts${size}`,
      hint: `something stores very large values under ${c.prefix}/subnets/; flannel's leases are a few hundred bytes each`,
    };
  }
  const transient = isRecoverableError(err) || err instanceof GRPCDeadlineExceededError || isBreakerError(err)
    || /leader changed|no leader|timed out|too many requests|unavailable|deadline/i.test(msg);
  const fail = (what: string, hint: string): ExplainedError => ({ transient, message: `cannot reach ${where} (${c.what}): ${what}`, hint });
  const dns = /Name resolution failed for target (?:dns:)?(\S+)/.exec(msg);
  if (dns || /waiting for name resolution/i.test(msg)) {
    return fail(dns ? `cannot resolve ${dns[1].replace(/:\d+$/, '')}` : 'no address for the host name yet (DNS resolution timed out)',
      'check the host names in the source URI and this host\'s DNS (/etc/resolv.conf); an IP address avoids DNS');
  }
  const sys = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EADDRNOTAVAIL)\b\s*([0-9a-fA-F.:[\]]+:\d+)?/.exec(msg);
  if (sys) {
    const at = sys[2] ? ` ${sys[2]}` : '';
    if (sys[1] === 'ECONNREFUSED') {
      return fail(`connection refused by${at || ' the endpoint'} (ECONNREFUSED)`,
        'is etcd running there and listening on that port (its --listen-client-urls)? check the endpoints in the source URI');
    }
    if (sys[1] === 'ECONNRESET' && c.tls) {
      return fail(`connection reset by${at || ' the endpoint'} (ECONNRESET)`, 'etcd closed the TLS connection: is it really serving TLS there, and does it require a client certificate (--etcd-certfile/--etcd-keyfile)?');
    }
    return fail(`${sys[1]}${at}`, 'is etcd up, and reachable from this host (routes, firewall)?');
  }
  if (/SSL|TLS|certificate|handshake|wrong version number|self.signed|unable to verify|alert/i.test(msg)) {
    return fail(`TLS handshake failed: ${oneLine(msg)}`, c.tls
      ? 'etcds:// needs the CA that signed etcd\'s certificate (--etcd-cafile) and, when etcd asks for one, a client certificate (--etcd-certfile/--etcd-keyfile); a plain-HTTP etcd is etcd://'
      : 'etcd expects TLS: write the source as etcds://… with --etcd-cafile (and --etcd-certfile/--etcd-keyfile)');
  }
  if (err instanceof GRPCDeadlineExceededError || /DEADLINE_EXCEEDED|deadline exceeded/i.test(msg)) {
    return fail(`no answer within ${c.callTimeoutMs / 1000} s`,
      c.tls ? 'is etcd up and reachable (firewall)? does it speak TLS on that port?' : 'is etcd up and reachable (firewall)? a TLS-only etcd needs etcds:// and never answers etcd://');
  }
  if (isBreakerError(err)) {
    return fail('every endpoint failed just before and is not retried yet', 'is etcd running and reachable from this host? check the endpoints, the firewall and the TLS flags');
  }
  return {
    transient,
    message: transient ? `cannot reach ${where} (${c.what}): ${oneLine(msg)}` : `${where}: ${c.what} failed: ${oneLine(msg)}`,
    hint: transient ? 'is etcd running and reachable from this host? check the endpoints, the firewall and the etcd TLS flags' : undefined,
  };
}
