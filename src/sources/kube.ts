import { UsageError } from '../errors.js';
import type { Source, SourceOptions } from './types.js';

export async function openKubeSource(uri: string, _opts: SourceOptions): Promise<Source> {
  throw new UsageError(`source ${uri}: not implemented yet`);
}
