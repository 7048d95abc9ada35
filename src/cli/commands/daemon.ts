// Placeholder until the daemon command lands (work in progress on its own branch).
import { OvlnetError } from '../../errors.js';

export default async function daemon(): Promise<number> {
  throw new OvlnetError('the daemon command is not implemented yet');
}
