// Whether to turn off tx checksum offload on the vxlan device. Kernels
// before 5.7 delay vxlan packets by 63 s when netfilter rewrites a UDP
// checksum the NIC was to compute (flannel #1243, #1279). Pure.
import { UsageError } from '../../errors.js';

export type TxOffloadMode = 'auto' | 'on' | 'off';
export const TX_CSUM_FEATURE = 'tx-checksum-ip-generic';
/** First kernel with the fix. */
export const FIXED_IN: [number, number] = [5, 7];

export function parseTxOffloadMode(s: string | undefined): TxOffloadMode {
  if (s === undefined) return 'auto';
  if (s === 'auto' || s === 'on' || s === 'off') return s;
  throw new UsageError(`--disable-tx-offload ${s}: expected auto, on or off`);
}

/** `5.4.0-150-generic` -> [5, 4]; undefined when the release does not start with major.minor. */
export function parseKernelRelease(release: string): [number, number] | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})/.exec(release.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * `auto`: on kernels older than 5.7, and on a release string we cannot read
 * (the workaround costs some CPU; the bug costs a minute per lost packet).
 */
export function shouldDisableTxOffload(mode: TxOffloadMode, release: string): boolean {
  if (mode !== 'auto') return mode === 'on';
  const v = parseKernelRelease(release);
  if (!v) return true;
  return v[0] < FIXED_IN[0] || (v[0] === FIXED_IN[0] && v[1] < FIXED_IN[1]);
}
