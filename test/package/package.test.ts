/**
 * gradpipe as a dependency, end to end: the tarball `npm pack` makes (its exact file list), installed into a
 * fresh project with the peers at the lowest versions the ranges allow, a strict TypeScript program
 * (`strict`, `NodeNext`, `skipLibCheck: false`) running the README's two library examples verbatim, a broken
 * libopenblas first on the library path, an esbuild bundle for Node and one for the browser, and `gradpipe serve`
 * from the installed package. One pack and one install serve every test.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MNIST, ROOT } from '../cli/helpers.js';
import { codeBlocks } from '../docs/typecheck.js';

/** The lowest versions the peer ranges in package.json allow (CI tests them; the repository's own are the highest). */
const LOWEST_PEERS = ['rxjs@7.8.1', 'fp-ts@2.16.0', 'ix@7.0.0'];

const dir = mkdtempSync(join(tmpdir(), 'gradpipe-consumer-'));
const app = join(dir, 'app');
const env = (): NodeJS.ProcessEnv => {
  const e = { ...process.env };
  delete e['GRADPIPE_BACKEND'];
  delete e['GRADPIPE_DATA'];
  return e;
};
const run = (cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd: opts.cwd ?? app, env: opts.env ?? env(), encoding: 'utf8', timeout: 170_000 });
const ok = (r: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
};

let packed: { files: string[]; stderr: string };

beforeAll(() => {
  ensureBuilt();
  for (const w of ['gradpipe.wasm', 'gradpipe-relaxed.wasm', 'warp.wasm']) {
    if (!existsSync(join(ROOT, 'dist/wasm', w))) throw new Error(`dist/wasm/${w} is missing: run npm run build:wasm`);
  }
  for (const f of ['index.html', 'main.js', 'worker.js']) {
    if (!existsSync(join(ROOT, 'dist/web', f))) throw new Error(`dist/web/${f} is missing: run npm run build:web`);
  }
  // prepare (the build) is what just ran; --ignore-scripts keeps pack from building again
  const pack = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT }), 'npm pack');
  const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = { files: info[0]!.files.map((f) => f.path).sort(), stderr: pack.stderr };
  mkdirSync(app);
  // npm 11 runs a dependency's install script only when the project allows it (README: npm install-scripts approve)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { gradpipe: true } }));
  const tarball = join(dir, info[0]!.filename);
  ok(
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...LOWEST_PEERS, '@types/node@20']),
    'npm install of the tarball',
  );
  const [first, float] = codeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  writeFileSync(join(app, 'first.ts'), `${first}\nconsole.log('backend:', g.backendStatus());\n`);
  writeFileSync(join(app, 'float.ts'), float!);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
      files: ['first.ts', 'float.ts'],
    }),
  );
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the tarball must hold: compiled JS and declarations of every source module, the wasm builds, the native sources. */
const expectedFiles = (): string[] => {
  const tracked = ok(run('git', ['ls-files', 'src', 'pipelines/mnist.ts', 'pipelines/presets.ts'], { cwd: ROOT }), 'git ls-files').stdout.split('\n').filter(Boolean);
  const modules = tracked.filter((f) => f.endsWith('.ts') && !f.startsWith('src/tensor/wasm/assembly/'));
  const native = tracked.filter((f) => /^src\/tensor\/native\/[^/]+\.(c|h|mjs)$/.test(f));
  return [
    ...modules.flatMap((f) => [`dist/${f.replace(/\.ts$/, '.js')}`, `dist/${f.replace(/\.ts$/, '.d.ts')}`]),
    ...native,
    'dist/wasm/gradpipe.wasm',
    'dist/wasm/gradpipe-relaxed.wasm',
    'dist/wasm/warp.wasm',
    'dist/web/index.html',
    'dist/web/main.js',
    'dist/web/worker.js',
    'data/mnist.sha256',
    'require.cjs',
    'README.md',
    'LICENSE',
    'package.json',
  ].sort();
};

describe('the package', () => {
  it('holds exactly the expected files: no tests, no CI, no built .node', () => {
    expect(packed.files).toEqual(expectedFiles());
    expect(packed.files.filter((f) => /test|\.ci\/|\.node$|status\.txt/.test(f))).toEqual([]);
  });

  it('packs without a fallback warning (an explicit files list)', () => {
    expect(packed.stderr).not.toMatch(/warn/i);
  });

  it('shares the project\'s one copy of rxjs, fp-ts and ix', () => {
    for (const p of ['rxjs', 'fp-ts', 'ix']) expect(existsSync(join(app, 'node_modules/gradpipe/node_modules', p))).toBe(false);
    expect(JSON.parse(readFileSync(join(app, 'node_modules/rxjs/package.json'), 'utf8')).version).toBe('7.8.1');
  });

  it('is tested at the top of each peer range too: the repository\'s own copies (the whole suite\'s) are the highest the ranges allow', () => {
    const peers = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies;
    for (const [name, range] of Object.entries(peers)) {
      const published = JSON.parse(ok(run('npm', ['view', `${name}@${range}`, 'version', '--json'], { cwd: ROOT }), `npm view ${name}`).stdout) as string | string[];
      const versions = (Array.isArray(published) ? published : [published]).filter((v) => !v.includes('-'));
      const highest = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
      const own = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      expect({ name, version: own }).toEqual({ name, version: highest });
    }
  });

  it('builds its native addon at install from the shipped sources', () => {
    expect(readFileSync(join(app, 'node_modules/gradpipe/dist/native/status.txt'), 'utf8')).toMatch(/^built dist\/native\/gradpipe_native\.node/);
  });

  it('compiles in a strict NodeNext project with skipLibCheck false', () => {
    const r = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs the README pipeline on the fastest backend with no backend call', () => {
    const r = run(process.execPath, ['out/first.js'], { env: { ...env(), GRADPIPE_DATA: MNIST } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/epoch 1: loss/);
    expect(r.stdout).toMatch(/backend: auto chose native/);
  });

  it('runs the README float-data example, on the fastest backend', () => {
    const r = run(process.execPath, ['out/float.js']);
    expect(r.status).toBe(0);
    expect(Number(/test accuracy ([\d.]+)/.exec(r.stdout)?.[1])).toBeGreaterThan(0.9);
    expect(r.stdout).toMatch(/auto chose native/);
  });

  it('falls back to wasm, saying why, when libopenblas lacks its symbols', () => {
    const fake = join(dir, 'fakeblas');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'empty.c'), 'int gradpipe_fake_openblas;\n');
    ok(run('cc', ['-shared', '-fPIC', '-Wl,-soname,libopenblas.so.0', '-o', join(fake, 'libopenblas.so.0'), join(fake, 'empty.c')]), 'cc of the fake libopenblas');
    const r = run(process.execPath, ['out/float.js'], { env: { ...env(), LD_LIBRARY_PATH: fake } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/auto chose wasm; native unavailable \(.*failed its trial run.*symbol lookup error.*\)/);
    expect(Number(/test accuracy ([\d.]+)/.exec(r.stdout)?.[1])).toBeGreaterThan(0.9);
  });

  it('works through require() as well', () => {
    const r = run(process.execPath, ['-e', "const g = require('gradpipe'); console.log(typeof g.floatDataset, typeof g.rx)"]);
    expect(r.stdout.trim()).toBe('function function');
  });

  it('runs bundled by esbuild, on the wasm backend', async () => {
    const { build } = await import('esbuild');
    await build({ entryPoints: [join(app, 'float.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: join(app, 'bundle/app.mjs'), logLevel: 'silent', absWorkingDir: app });
    const r = run(process.execPath, ['bundle/app.mjs']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/auto chose wasm/);
    expect(Number(/test accuracy ([\d.]+)/.exec(r.stdout)?.[1])).toBeGreaterThan(0.9);
  });

  it('bundles for the browser through the `browser` conditions with no node: import', async () => {
    const { build } = await import('esbuild');
    const out = await build({
      stdin: { contents: "export { floatDataset, rx, initNetwork } from 'gradpipe';", resolveDir: app, loader: 'ts' },
      bundle: true, write: false, format: 'esm', platform: 'browser', metafile: true, logLevel: 'silent', absWorkingDir: app,
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs).toContain('node_modules/gradpipe/dist/src/core.js');
    // every seam on its browser side; platform/worker.js is the worker protocol both sides share
    expect(inputs.filter((f) => f.includes('/platform/') && !f.endsWith('/platform/worker.js')).every((f) => f.includes('/platform/browser/'))).toBe(true);
    expect(out.outputFiles[0]!.text).not.toMatch(/\bnode:[a-z]/);
  });

  it('serves the training page from the installed package (gradpipe serve)', async () => {
    const server = spawn(join(app, 'node_modules/.bin/gradpipe'), ['serve', '--port', '0', '--data', MNIST], { cwd: app, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let said = '';
        server.stdout!.on('data', (d: Buffer) => {
          said += String(d);
          const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(said);
          if (m) resolve(m[1]!);
        });
        server.stderr!.on('data', (d: Buffer) => (said += String(d)));
        server.on('close', (code) => reject(new Error(`gradpipe serve exited with ${code}: ${said}`)));
      });
      for (const [path, type] of [['', 'text/html'], ['app/main.js', 'text/javascript'], ['app/worker.js', 'text/javascript'], ['wasm/gradpipe.wasm', 'application/wasm']] as const) {
        const r = await fetch(url + path);
        expect({ path, status: r.status, type: r.headers.get('content-type')?.split(';')[0], coep: r.headers.get('cross-origin-embedder-policy') }).toEqual({
          path, status: 200, type, coep: 'require-corp',
        });
        expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100);
      }
    } finally {
      server.kill('SIGINT');
    }
  });
});
