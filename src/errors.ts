// Typed errors. Modules throw these; only src/cli turns them into exit codes
// and one-line messages (stack traces only with --debug).

export class OvlnetError extends Error {
  /** What the operator can do about it, printed on its own line. */
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends OvlnetError {}
/** The cluster source could not be read or parsed. */
export class SourceError extends OvlnetError {}
/** The configuration is unusable as a whole (bad network, unknown backend...). */
export class ConfigError extends OvlnetError {}
/** The local node is not in the source, or not usable. */
export class NodeError extends OvlnetError {}
/** Running `ip`/`bridge` failed as a whole (not a per-object failure). */
export class HostError extends OvlnetError {}
/** Not allowed: no root / CAP_NET_ADMIN. */
export class PermissionError extends OvlnetError {}
/** A cycle refused by a safety guard (mass deletion). */
export class GuardError extends OvlnetError {}
/** A saved plan file (plan --out) that cannot be applied here: unreadable, modified, or made for another node, namespace, backend or settings. */
export class PlanFileError extends OvlnetError {}
/** A saved plan whose source or host state moved since it was made: plan again. */
export class StalePlanError extends OvlnetError {
  /** Which states moved: 'source', 'host' (empty: the same states now give other changes). */
  readonly moved: ReadonlyArray<'source' | 'host'>;
  constructor(message: string, hint: string, moved: ReadonlyArray<'source' | 'host'>) {
    super(message, hint);
    this.moved = moved;
  }
}
