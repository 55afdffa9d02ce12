/**
 * Support for the CLI tests: the compiled CLI (built when stale), subprocess and in-process runners, small
 * MNIST slices written to temporary folders (never into the repository), and an independent safetensors
 * reader with a float64 forward pass.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.js';
import { captureOut, type CliIo } from '../../src/cli/io.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const MNIST = join(ROOT, '../shared/datasets/mnist');

const newestMtime = (dir: string): number => {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'assembly') newest = Math.max(newest, newestMtime(p));
    } else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
};

const isStale = (): boolean =>
  !existsSync(CLI) || statSync(CLI).mtimeMs < Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'pipelines')));

/**
 * Compiles src/ and pipelines/ into dist/ when the compiled CLI is older than any source file. Test files
 * run in parallel, so the check and the build both happen under one lock: a file that finds main.js fresh
 * must not run it while another is still writing the rest of dist/. tsc emits even when some other file in
 * the tree fails to typecheck; the CLI only needs to exist and be fresh.
 */
export const ensureBuilt = (): void => {
  const lock = join(tmpdir(), 'gradpipe-cli-test-build.lock');
  const script = `cd "$1" && node -e "${STALE_CHECK}" || npx tsc -p tsconfig.build.json >/dev/null 2>&1; true`;
  spawnSync('flock', [lock, 'sh', '-c', script, 'sh', ROOT], { stdio: 'inherit' });
  if (isStale()) throw new Error(`could not build ${CLI} (run npm run build:ts)`);
};

// exits 0 when dist/src/cli/main.js is fresh (the same test as isStale, for the shell inside the lock)
const STALE_CHECK = [
  "const fs=require('fs'),p=require('path');",
  "const m=d=>fs.readdirSync(d,{withFileTypes:true}).reduce((a,e)=>{const f=p.join(d,e.name);return e.isDirectory()?(e.name==='assembly'?a:Math.max(a,m(f))):e.name.endsWith('.ts')?Math.max(a,fs.statSync(f).mtimeMs):a},0);",
  "const c='dist/src/cli/main.js';",
  "process.exit(fs.existsSync(c)&&fs.statSync(c).mtimeMs>=Math.max(m('src'),m('pipelines'))?0:1)",
].join('');

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled CLI as a subprocess in `cwd` (default: a temporary folder). */
export const runCli = (args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const inherited: Record<string, string> = { ...(process.env as Record<string, string>) };
    delete inherited['GRADPIPE_DATA']; // the tests say where the data is
    const env = { ...inherited, ...opts.env };
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

/** Runs `gradpipe args...` in this process with captured output. */
export const runMain = async (args: readonly string[], opts: { cwd?: string; env?: Record<string, string | undefined>; tty?: boolean } = {}): Promise<RunResult> => {
  const stdout = captureOut(opts.tty ?? false);
  const stderr = captureOut(opts.tty ?? false);
  const io: CliIo = { stdout, stderr, env: opts.env ?? {}, cwd: opts.cwd ?? tmpdir(), onSignal: () => () => undefined };
  const code = await main(args, io);
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text() };
};

/** A fresh temporary folder; remove it with `rmTmp`. */
export const tmp = (prefix = 'gradpipe-cli-'): string => mkdtempSync(join(tmpdir(), prefix));
export const rmTmp = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/** An IDX file of unsigned bytes (magic 0x0000 08 ndims, big-endian dims, then the body). */
export const idxBytes = (dims: readonly number[], body: Uint8Array): Uint8Array => {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
};

/** The first `n` examples of an MNIST images/labels pair, read with zlib alone (independent of src/data). */
export const readMnistSlice = (name: 'train' | 't10k', n: number): { images: Uint8Array; labels: Uint8Array } => {
  const images = gunzipSync(readFileSync(join(MNIST, `${name}-images-idx3-ubyte.gz`)));
  const labels = gunzipSync(readFileSync(join(MNIST, `${name}-labels-idx1-ubyte.gz`)));
  return { images: new Uint8Array(images.subarray(16, 16 + n * 784)), labels: new Uint8Array(labels.subarray(8, 8 + n)) };
};

/**
 * Builds the CLI if needed and makes a temporary folder `dir` holding an MNIST slice in `data` (= dir/mnist,
 * see `writeMnistSlice`); remove it with `rmTmp(dir)`.
 */
export const mnistSliceDir = (train: number, test: number): { dir: string; data: string } => {
  ensureBuilt();
  const dir = tmp();
  const data = join(dir, 'mnist');
  mkdirSync(data);
  writeMnistSlice(data, train, test);
  return { dir, data };
};

/**
 * Writes an MNIST-layout folder with the first `train` and `test` examples: training files gzipped, test
 * files raw (both forms the reader accepts).
 */
export const writeMnistSlice = (dir: string, train: number, test: number): { test: { images: Uint8Array; labels: Uint8Array } } => {
  const tr = readMnistSlice('train', train);
  const te = readMnistSlice('t10k', test);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([train, 28, 28], tr.images), { level: 1 }));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([train], tr.labels), { level: 1 }));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes([test, 28, 28], te.images));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([test], te.labels));
  return { test: te };
};

export interface RawTensor {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: Float32Array;
  readonly bytes: Uint8Array;
}

/** A safetensors file parsed by the format's definition (8-byte LE header size, JSON header, data). */
export const readSafetensors = (file: string): { tensors: Record<string, RawTensor>; metadata: Record<string, string>; dataSection: Uint8Array } => {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> };
  const dataSection = new Uint8Array(bytes.subarray(8 + n));
  const tensors: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = t as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const raw = dataSection.slice(info.data_offsets[0], info.data_offsets[1]);
    tensors[name] = { dtype: info.dtype, shape: info.shape, data: new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), bytes: raw };
  }
  return { tensors, metadata: header.__metadata__ ?? {}, dataSection };
};

/** Accuracy of a safetensors MLP (ReLU hidden layers) on images/labels, by a plain float64 forward pass. */
export const float64Accuracy = (file: string, images: Uint8Array, labels: Uint8Array): number => {
  const { tensors } = readSafetensors(file);
  const layers: { w: Float32Array; b: Float32Array; out: number; inp: number }[] = [];
  for (let i = 0; tensors[`layers.${i}.weight`]; i++) {
    const w = tensors[`layers.${i}.weight`]!;
    layers.push({ w: w.data, b: tensors[`layers.${i}.bias`]!.data, out: w.shape[0]!, inp: w.shape[1]! });
  }
  let correct = 0;
  for (let e = 0; e < labels.length; e++) {
    let a: number[] = Array.from(images.subarray(e * 784, (e + 1) * 784), (p) => p / 255);
    layers.forEach((l, li) => {
      const z: number[] = [];
      for (let o = 0; o < l.out; o++) {
        let s = l.b[o]!;
        for (let k = 0; k < l.inp; k++) s += l.w[o * l.inp + k]! * a[k]!;
        z.push(li < layers.length - 1 ? Math.max(0, s) : s);
      }
      a = z;
    });
    // softmax is monotone: the class is the largest logit
    const predicted = a.indexOf(Math.max(...a));
    if (predicted === labels[e]) correct++;
  }
  return correct / labels.length;
};
