/**
 * What the benchmark ran on: cores, CPU model, memory, Node, the OpenBLAS package, numpy and its bundled
 * OpenBLAS, the OpenBLAS environment variables in effect, and the load.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  numpy: run(process.env['PYTHON'] ?? 'python3', ['-c', NUMPY_INFO]) || 'not available',
  env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'].map((k) => [k, process.env[k] ?? '(unset)'])),
});

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const load = (): string => loadavg().map((x) => x.toFixed(2)).join(', ');
