// Per-device kernel settings the backends pin. Pure.
import type { SysctlEntry } from '../../model/types.js';

export const ACCEPT_RA = 'accept_ra';

/**
 * flannel turns router advertisements off on its vxlan devices (its fix for
 * RA spoofing over the overlay: an RA from any pod could otherwise give the
 * host addresses and routes through the device).
 */
export function acceptRaOff(dev: string): SysctlEntry {
  return { kind: 'sysctl', dev, name: ACCEPT_RA, value: 0 };
}
