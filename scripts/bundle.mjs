#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (what bin/ovlnet runs), so a command loads a
// handful of files instead of ~150 modules. Part of `npm run build`.
//
// - src/cli/main.ts is the entry; every command, source and heavy library the
//   sources import with import() stays behind its own dynamic import: code
//   splitting turns each into a chunk loaded only when that code path runs.
// - External (left to node_modules, loaded by Node when a chunk imports them):
//   etcd3 alone (etcd3/grpc read .proto files next to their own sources at run
//   time), loaded only by its source. It and cli-table3 (src/render/table.ts
//   requires it by name, lazily, which the bundler does not see) are the
//   dependencies the npm package ships in node_modules (bundleDependencies). Everything else,
//   the Kubernetes client included, is in the chunks: the tarball carries one
//   copy of each library, not the bundle plus node_modules.
// - Whitespace and syntax are minified, identifiers are not (error class
//   names, stack traces with --debug stay readable): the chunks are half the size.
// - CJS dependencies bundled into ESM call require() for Node built-ins: the
//   banner gives every chunk a real require.
// - Source maps are written next to the chunks (linked, without the sources'
//   text) and used only under NODE_OPTIONS=--enable-source-maps, in a checkout:
//   the npm package does not ship them (package.json files).
// - The metafile goes to dist/bundle-meta.json (not shipped): test/e2e/bundle
//   reads it to check what the start-up chunk holds. `--report` prints it.
//
// Usage: node scripts/bundle.mjs [--report]
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const metaPath = join(root, 'dist', 'bundle-meta.json');

export const EXTERNAL = ['etcd3'];

// CommonJS packages the sources load with import(). In a split ESM bundle the
// chunk of a CJS module exports only `default` (esbuild issue #3245), so
// `(await import('yaml')).parseDocument` would be undefined: such an import goes
// through a small ESM module re-exporting, by name, what Node's own import()
// of the package exposes.
const CJS_DYNAMIC = ['yaml', 'hpagent', 'socks-proxy-agent'];

const cjsNamespace = {
  name: 'cjs-namespace',
  setup(b) {
    const filter = new RegExp(`^(${CJS_DYNAMIC.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'cjs-namespace' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'cjs-namespace' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      const spec = JSON.stringify(args.path);
      return {
        resolveDir: root,
        loader: 'js',
        contents: `import * as ns from ${spec};\nexport default ns.default;\n${names.map((k) => `export const ${k} = ns.${k};`).join('\n')}\n`,
      };
    });
  },
};

// Named so it cannot clash with esbuild's own helpers in the chunk.
const banner = "import { createRequire as __ovlnetCreateRequire } from 'node:module';\nconst require = __ovlnetCreateRequire(import.meta.url);";

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  banner: { js: banner },
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  tsconfig: join(root, 'tsconfig.json'),
  plugins: [cjsNamespace],
});

// The same trap for any CJS package imported with import() later: fail the build, not a command.
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  for (const i of input.imports) {
    if (i.kind === 'dynamic-import' && !i.external && result.metafile.inputs[i.path]?.format === 'cjs') {
      throw new Error(`${file}: import() of the CommonJS module ${i.original ?? i.path}: add its package to CJS_DYNAMIC in scripts/bundle.mjs`);
    }
  }
}

writeFileSync(metaPath, JSON.stringify(result.metafile));

if (process.argv.includes('--report')) {
  const outputs = result.metafile.outputs;
  const rel = (p) => relative(root, join(root, p));
  const main = Object.keys(outputs).find((k) => outputs[k].entryPoint === 'src/cli/main.ts');
  // The start-up set: the entry and every chunk it imports statically.
  const seen = new Set();
  const walk = (k) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of outputs[k].imports) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(main);
  const pkgOf = (input) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    return m ? m[1] : 'ovlnet';
  };
  for (const k of Object.keys(outputs).filter((o) => o.endsWith('.js'))) {
    const o = outputs[k];
    const pkgs = new Map();
    for (const [input, v] of Object.entries(o.inputs)) pkgs.set(pkgOf(input), (pkgs.get(pkgOf(input)) ?? 0) + v.bytesInOutput);
    const ext = o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path);
    const what = [...pkgs].sort((a, b) => b[1] - a[1]).map(([p, b]) => `${p} ${(b / 1024).toFixed(1)}k`).join(', ');
    console.log(`${seen.has(k) ? 'startup' : 'lazy   '} ${rel(k)} ${(o.bytes / 1024).toFixed(1)}k: ${what}${ext.length ? `; imports ${[...new Set(ext)].join(', ')}` : ''}`);
  }
}
