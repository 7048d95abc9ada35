// Dual-stack configurations shared by the dual-stack unit tests. 2001:db8::/32 only.
import type { RawConfig } from '../../../src/model/types.js';
import { validateConfig } from '../../../src/validate/index.js';

// As the cluster file maps ovlnet's own key `ipv6Network`: IPv6 on unless enableIPv6 says otherwise.
export const raw = (over: Partial<RawConfig>): RawConfig => ({ origin: 'c.yaml', ...(over.ipv6Network !== undefined ? { enableIPv6: true } : {}), ...over });

export const DUAL = validateConfig(raw({ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48' }));
export const V6ONLY = validateConfig(raw({ ipv6Network: '2001:db8:100::/48' }));
