// Where ovlnet is installed. Code runs from two layouts, dist/src/** (tsc) and
// dist/bundle/*.js (the bundle bin/ovlnet runs), so a fixed "../../.." from
// import.meta.url is right in one of them only: walk up to our own package.json.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  /** The directory holding ovlnet's package.json (and build/ for the TUN addon). */
  root: string;
  version: string;
}

let cached: PackageInfo | undefined;

/** `from`: a file URL inside the package (tests pass another one). */
export function packageInfo(from: string = import.meta.url): PackageInfo {
  if (cached && from === import.meta.url) return cached;
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      // A package.json of anything else on the way (a "type": "module" stub) is not ours: keep going.
      const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (p.name === 'ovlnet') {
        const info = { root: dir, version: String(p.version) };
        if (from === import.meta.url) cached = info;
        return info;
      }
    } catch {
      // none here (or unreadable): look further up
    }
    if (dirname(dir) === dir) throw new Error(`cannot find ovlnet's package.json above ${start}`);
  }
}
