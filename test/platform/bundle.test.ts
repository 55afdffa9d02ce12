/**
 * The isomorphic core: bundled by esbuild for the browser, gradpipe carries no `node:` import; the package's
 * `browser` conditions (`exports["."]` and the `#platform/*` imports map) are what select the browser side.
 * A Node bundle of the same entry does carry the Node side (the check can fail).
 */
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/helpers.js';

const bundle = async (opts: { entry?: string; contents?: string; platform: 'browser' | 'node'; conditions?: string[] }) => {
  const out = await build({
    ...(opts.entry ? { entryPoints: [join(ROOT, opts.entry)] } : { stdin: { contents: opts.contents!, resolveDir: ROOT, loader: 'ts' } }),
    bundle: true,
    write: false,
    format: 'esm',
    platform: opts.platform,
    conditions: opts.conditions ?? [],
    metafile: true,
    logLevel: 'silent',
    ...(opts.platform === 'node' ? { external: ['node:*'] } : {}),
  });
  const meta: Metafile = out.metafile;
  const imports = Object.values(meta.inputs).flatMap((i) => i.imports.map((x) => x.path));
  return { text: out.outputFiles[0]!.text, inputs: Object.keys(meta.inputs), imports };
};

describe('browser bundle', () => {
  it('bundles the core from the sources with no node: import, on the browser side of every seam', async () => {
    const b = await bundle({ entry: 'src/core.ts', platform: 'browser', conditions: ['gradpipe-source'] });
    expect(b.imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(b.text).not.toMatch(/\bnode:[a-z]/);
    expect(b.inputs.filter((f) => f.startsWith('src/platform/')).sort()).toEqual([
      'src/platform/browser/breathe.ts',
      'src/platform/browser/native.ts',
      'src/platform/browser/sha256.ts',
      'src/platform/browser/startWorker.ts',
      'src/platform/browser/wasm.ts',
      'src/platform/worker.ts', // the worker protocol both sides share (no node: import, checked above)
    ]);
  });

  it('bundles the same entry for Node with the Node side of the seams (node:worker_threads, node:fs)', async () => {
    const b = await bundle({ entry: 'src/core.ts', platform: 'node', conditions: ['gradpipe-source'] });
    expect(b.imports).toEqual(expect.arrayContaining(['node:fs/promises', 'node:v8', 'node:crypto']));
    expect(b.text).toContain('node:worker_threads');
  });

  it('resolves the built package for a bundler: `gradpipe` with the browser condition has no node: import', async () => {
    ensureBuilt();
    const b = await bundle({ contents: "export * from 'gradpipe';", platform: 'browser' });
    expect(b.inputs).toContain('dist/src/core.js');
    expect(b.inputs).not.toContain('dist/src/index.js');
    expect(b.imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(b.text).not.toMatch(/\bnode:[a-z]/);
  });
});
