// Reads ovlnet's own config file (settings.ts decides what it means). The
// default file is optional; one named by --config or $OVLNET_CONFIG must exist.
import { readFile } from 'node:fs/promises';
import { SourceError, UsageError } from '../errors.js';
import { parseDocument } from '../sources/parse-limits.js';
import type { ConfigFile } from './settings.js';

export async function loadConfigFile(choice: { path: string; explicit: boolean; from: string }): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(choice.path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !choice.explicit) return undefined;
    throw new UsageError(`config file ${choice.path} (from ${choice.from}): ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // JSON needs no YAML parser: keep `yaml` off the start-up path for a .json file.
  const doc = await parseDocument(text, choice.path, choice.path.endsWith('.json') ? 'json' : 'yaml');
  if (doc === null || doc === undefined) return { path: choice.path, values: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SourceError(`${choice.path}: expected a mapping of settings (e.g. "ip-masq: true"), not ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  }
  return { path: choice.path, values: doc as Record<string, unknown> };
}
