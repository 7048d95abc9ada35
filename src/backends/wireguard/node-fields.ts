// The cluster file's WireGuard node field (`publicKey`, flannel's spelling
// `PublicKey`): checked where the file is, and turned into the node's
// BackendData as a lease or an annotation would publish it. Pure.
import type { NodeFields } from '../types.js';
import { isKey } from './keys.js';

const FIELDS = ['publicKey', 'PublicKey'] as const;

export const wireguardNodeFields: NodeFields = {
  keys: FIELDS,
  // Refused here rather than in validation (which leaves a bad node out with a
  // warning, as it must for a lease or an annotation someone else wrote): a key
  // mistyped in the operator's own file is refused with the node and the field named.
  check(n) {
    for (const field of FIELDS) {
      const v = n[field];
      if (v === undefined || v === null || isKey(v)) continue;
      const shown = typeof v === 'string' ? JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v) : `a ${typeof v}`;
      return {
        field, message: `${shown} is not a base64 WireGuard public key`,
        hint: 'give the 44-character key "wg pubkey < /run/flannel/wgkey" prints on that node (WIREGUARD_KEY_FILE if set)',
      };
    }
    return undefined;
  },
  backendData(n) {
    const key = n.publicKey ?? n.PublicKey;
    // The same key serves both families, as flannel's one key file does.
    return key === undefined || key === null ? undefined : { data: { PublicKey: key }, data6: { PublicKey: key } };
  },
};
