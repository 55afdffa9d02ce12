/**
 * What the benchmark ran on: cores, CPU model, memory, Node, the OpenBLAS package, numpy and its bundled
 * OpenBLAS, the OpenBLAS environment variables in effect, and the load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg, totalmem } from 'node:os';

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly openblasPackage: string;
  readonly numpy: string;
  readonly env: Readonly<Record<string, string>>;
}

const run = (cmd: string, args: readonly string[]): string => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
};

/** numpy's version and BLAS, with the kernel its OpenBLAS picks under the current environment. */
const numpyInfo = (): string => {
  const r = spawnSync(process.env['PYTHON'] ?? 'python3', ['-c', NUMPY_INFO], { encoding: 'utf8', env: { ...process.env, OPENBLAS_VERBOSE: '2' } });
  if (r.status !== 0) return 'not available';
  const core = /Core:\s*(\S+)/.exec(r.stderr)?.[1];
  return `${r.stdout.trim()}${core ? ` (core ${core})` : ''}`;
};

const cpuModel = (): string => {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
    const simd = ['avx2', 'fma', 'avx512f', 'avx512_bf16'].filter((f) => flags.includes(f));
    return `${m?.[1]?.trim() ?? 'unknown'}${simd.length > 0 ? ` (${simd.join(', ')})` : ''}`;
  } catch {
    return 'unknown (no /proc/cpuinfo)';
  }
};

const NUMPY_INFO = `
import numpy
try:
    b = numpy.show_config(mode='dicts')['Build Dependencies']['blas']
    print(numpy.__version__, 'with', b.get('name', '?'), b.get('version', '?'))
except Exception:
    print(numpy.__version__)
`;

export const describeMachine = (): Machine => ({
  cores: availableParallelism(),
  cpu: cpuModel(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  openblasPackage: run('dpkg-query', ['-W', '-f', '${Package} ${Version}\n', 'libopenblas0-pthread', 'libopenblas-dev']).replace(/\n/g, ', ') || 'not found (dpkg-query)',
  numpy: numpyInfo(),
  env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'].map((k) => [k, process.env[k] ?? '(unset)'])),
});

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const load = (): string => loadavg().map((x) => x.toFixed(2)).join(', ');

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const newest = (dir: string, ext: RegExp): number =>
  existsSync(dir) ? Math.max(0, ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => ext.test(f)).map((f) => statSync(join(dir, f)).mtimeMs)) : 0;

/**
 * Warnings for compiled kernels older than their sources (`npm run bench` compiles the TypeScript only;
 * the wasm module and the native addon come from `npm run build`).
 */
export const staleBuilds = (): string[] =>
  [
    { out: 'dist/wasm/gradpipe.wasm', src: 'src/tensor/wasm/assembly', ext: /\.ts$/, build: 'npm run build:wasm' },
    { out: 'dist/native/gradpipe_native.node', src: 'src/tensor/native', ext: /\.[ch]$/, build: 'npm run build:native' },
  ].flatMap(({ out, src, ext, build }) => {
    const file = join(ROOT, out);
    if (!existsSync(file)) return [];
    return statSync(file).mtimeMs < newest(join(ROOT, src), ext) ? [`${out} is older than ${src}: run ${build} to measure the current source`] : [];
  });

/** The checkout's commit, with "+ uncommitted changes" when the tree differs from it. */
export const commit = (): string => {
  const head = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  if (head === '') return 'unknown (not a git checkout)';
  const dirty = run('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'pipelines']) !== '';
  return dirty ? `${head} + uncommitted changes in src/ or pipelines/` : head;
};
