#!/usr/bin/env node
/**
 * Builds the native backend's addon (the C files of this folder -> dist/native/gradpipe_native.node) with the
 * system C compiler against Node's own headers, POSIX threads and the GEMM libraries the machine has:
 * oneDNN (libdnnl-dev, preferred: its single-threaded sgemm is the faster one) and OpenBLAS (libopenblas-dev,
 * the fallback), both when both are there. Run by `npm run build:native` (so by `prepare` on npm install /
 * npm ci). GRADPIPE_GEMM=openblas or GRADPIPE_GEMM=onednn builds with that library only.
 *
 * It tries the variants best first (both libraries, oneDNN alone, OpenBLAS alone) and keeps the first that
 * compiles, links and loads; the status line says which library the backend will use and what else is linked.
 *
 * It never fails the install: when something is missing it prints one line saying what and how to get it,
 * records that line in dist/native/status.txt (shown by `gradpipe info`) and exits 0. Why not node-gyp: it
 * would add a Python/Make dependency and, without a configured nodedir, try to download headers; a direct
 * compiler call needs only what it checks for below.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const outDir = join(root, 'dist', 'native');
const addon = join(outDir, 'gradpipe_native.node');
const status = join(outDir, 'status.txt');
const sources = ['gradpipe_native.c', 'pool.c', 'gemm.c', 'zgemm.c', 'update.c', 'elementwise.c'].map((f) => join(here, f));

const run = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' });

const finish = (line) => {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(status, line + '\n');
  console.log(`native backend: ${line}`);
  process.exit(0);
};

const skip = (why) => {
  rmSync(addon, { force: true }); // a stale addon must not outlive a failed build
  finish(`not built: ${why}`);
};

/** Node-API headers: npm's configured nodedir first (set on machines that build offline), then Node's prefix. */
const nodeHeaders = () =>
  [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')]
    .filter((d) => d !== undefined && d !== '')
    .map((d) => join(d, 'include', 'node'))
    .find((d) => existsSync(join(d, 'node_api.h')));

/** Compiler and linker flags for OpenBLAS: pkg-config when it knows openblas, else the plain library name. */
const openblasFlags = () => {
  const pc = run('pkg-config', ['--cflags', '--libs', 'openblas']);
  return ['-DGP_HAVE_OPENBLAS', ...(pc.status === 0 ? pc.stdout.trim().split(/\s+/).filter(Boolean) : ['-lopenblas'])];
};

/** oneDNN (Debian's libdnnl runs on OpenMP, hence libgomp, whose thread count gemm.c sets to 1 per thread). */
const onednnFlags = () => ['-DGP_HAVE_ONEDNN', '-ldnnl', '-lgomp'];

/** The variants to try, best first, as [what, flags]; GRADPIPE_GEMM narrows them to one library. */
const variants = () => {
  const only = process.env.GRADPIPE_GEMM;
  const all = [
    ['oneDNN and OpenBLAS', () => [...onednnFlags(), ...openblasFlags()]],
    ['oneDNN', onednnFlags],
    ['OpenBLAS', openblasFlags],
  ];
  if (only === undefined || only === '') return all;
  if (only === 'onednn') return all.filter(([what]) => what === 'oneDNN');
  if (only === 'openblas') return all.filter(([what]) => what === 'OpenBLAS');
  skip(`GRADPIPE_GEMM must be onednn or openblas, got ${JSON.stringify(only)}; unset it to pick the best the machine has`);
  return [];
};

/** The first compiler diagnostic, turned into what to install when it is a missing header or library. */
const explain = (stderr) => {
  if (/dnnl\.h|-ldnnl/.test(stderr)) return 'oneDNN not found; install libdnnl-dev (Debian/Ubuntu), or libopenblas-dev for the OpenBLAS fallback';
  if (/cblas\.h/.test(stderr)) return 'OpenBLAS headers (cblas.h) not found; install libopenblas-dev (Debian/Ubuntu) or openblas-devel';
  if (/-lopenblas|openblas/.test(stderr)) return 'OpenBLAS library not found; install libopenblas-dev (Debian/Ubuntu) or openblas-devel';
  const first = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0] ?? '';
  return `the C compiler failed: ${first.trim()}`;
};

try {
  if (process.platform === 'win32') skip('building the addon on Windows is not supported; the wasm and ts backends remain');
  const cc = process.env.CC || 'cc';
  const probe = run(cc, ['--version']);
  if (probe.error || probe.status !== 0) skip(`no C compiler (${cc}) found; install gcc (Debian: apt-get install gcc) or set CC`);
  const headers = nodeHeaders();
  if (headers === undefined) {
    skip('Node-API headers (include/node/node_api.h) not found next to node or in npm_config_nodedir; install Node with its headers or set npm nodedir');
  }
  mkdirSync(outDir, { recursive: true });
  const shared = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-fPIC'];
  const tmp = join(outDir, 'gradpipe_native.tmp.node'); // .node: require() must load it as an addon
  // -ffp-contract=off: no fused multiply-add, so the optimiser loops round exactly as the TypeScript ones;
  // -fno-math-errno lets sqrt vectorise (errno is never read; no value changes).
  const common = ['-O3', '-fno-trapping-math', '-ffp-contract=off', '-fno-math-errno', '-std=gnu11', '-Wall', '-Wextra', '-fvisibility=hidden', '-pthread', ...shared, `-I${headers}`, ...sources, '-o', tmp];
  const failures = [];
  for (const [what, flags] of variants()) {
    const built = run(cc, [...common, ...flags(), '-lm']);
    if (built.status !== 0) {
      failures.push(explain(built.stderr ?? ''));
      continue;
    }
    // Load it in a child: a library that links but does not load (missing .so at run time) is caught here.
    const probe = 'const a=require(process.argv[1]);const l=a.gemmLibraries();' +
      "console.log(l.map((x,i)=>(i===0?'GEMM by ':'also linked: ')+a.gemmInfo(x)).join('; '))";
    const check = run(process.execPath, ['-e', probe, tmp]);
    if (check.status !== 0) {
      const first = (check.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
      failures.push(`with ${what}, the addon compiled but does not load: ${first.trim()}`);
      continue;
    }
    renameSync(tmp, addon);
    finish(`built ${addon.slice(root.length + 1)} (${check.stdout.trim()})`);
  }
  rmSync(tmp, { force: true });
  skip(failures[failures.length - 1] ?? 'no GEMM library variant to try');
} catch (e) {
  skip(`unexpected build error: ${e instanceof Error ? e.message : String(e)}`);
}
