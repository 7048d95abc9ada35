// Whether the operator gave Node a V8 flag, on node's command line or in
// NODE_OPTIONS (the systemd unit and the DaemonSet set NODE_OPTIONS; an
// operator's drop-in or env file may add to it). Pure.

/** V8 accepts a flag with dashes or underscores, bare or with `=value`. */
function isFlag(arg: string, flag: string): boolean {
  const a = arg.replace(/_/g, '-');
  return a === flag || a.startsWith(`${flag}=`);
}

/**
 * `flag` ("--heap-growing-percent") given in `execArgv` or in `nodeOptions`
 * (split on white space, as Node does for flags without quoted values).
 */
export function nodeFlagGiven(flag: string, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const options = (nodeOptions ?? '').split(/\s+/).filter(Boolean);
  return [...execArgv, ...options].some((a) => isFlag(a, flag));
}
