// Placeholder until the completion command lands (work in progress on its own branch).
import { OvlnetError } from '../../errors.js';

export default async function completion(): Promise<number> {
  throw new OvlnetError('the completion command is not implemented yet');
}
