// Which table style a stream gets. Kept apart from table.ts so that choosing
// one does not load cli-table3 (start-up of --version and of errors).

export type TableKind = 'box' | 'ascii' | 'plain';

/** Whether the locale can show box-drawing characters (LC_ALL, then LC_CTYPE, then LANG, as setlocale reads them). */
export function localeIsUTF8(env: NodeJS.ProcessEnv = process.env): boolean {
  const loc = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(loc);
}

export function tableKind(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): TableKind {
  if (!isTTY) return 'plain';
  return localeIsUTF8(env) ? 'box' : 'ascii';
}
