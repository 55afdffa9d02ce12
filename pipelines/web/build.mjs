// Bundles the page (pipelines/web/main.ts and worker.ts) with esbuild for the browser into dist/web/, with
// the browser side of every platform seam (the package's `browser` and `gradpipe-source` conditions).
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const out = new URL('../../dist/web/', import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL('./main.ts', import.meta.url).pathname, new URL('./worker.ts', import.meta.url).pathname],
  outdir: out.pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  conditions: ['gradpipe-source'],
  define: { GRADPIPE_VERSION: JSON.stringify(version) },
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
copyFileSync(new URL('./index.html', import.meta.url), new URL('index.html', out));
