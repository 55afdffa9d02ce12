/**
 * `distortMany` with the image warp in WebAssembly (src/tensor/wasm/assembly/warp.ts, built to
 * dist/wasm/warp.wasm): the same integer arithmetic as the TypeScript fixed-point warp, so the same bits,
 * several times faster. The batch workers run it (`batchInputs`); where the build cannot be
 * read or compiled it falls back to the TypeScript warp, which gives the same images.
 */
import { readBytes } from '#platform/wasm.js';
import { gatherInputs, scaleBytes } from './pixels.js';
import { byteFill, drawWarp, distortMany, fixedFits, fixedOffset, fixedParams, isIdentity, taskOffsets, type DistortTask, type Warp } from './distort.js';

interface WarpExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly warpMany: (src: number, dst: number, params: number, field: number, pad: number, count: number, rows: number, cols: number, fill: number, scaled: number) => void;
  readonly __heap_base?: { readonly value: number };
}

/** Where the build is looked for: beside the built JavaScript (dist/src/data -> dist/wasm), or from the sources. */
const WARP_PATHS = [new URL('../../wasm/warp.wasm', import.meta.url), new URL('../../dist/wasm/warp.wasm', import.meta.url)];

/** The one WebAssembly call used here (lib ES2023 and @types/node 20 do not declare the namespace; see tensor/wasm/module.ts). */
const instantiate = (bytes: Uint8Array): Promise<{ instance: { exports: unknown } }> =>
  (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: { exports: unknown } }> } }).WebAssembly.instantiate(bytes);

let loading: Promise<WarpExports | undefined> | undefined;

/** This thread's instance of the warp kernel, undefined when no build can be read or compiled here (once per thread). */
export const warpKernel = (): Promise<WarpExports | undefined> =>
  (loading ??= (async () => {
    for (const url of WARP_PATHS) {
      try {
        const { instance } = await instantiate(await readBytes(url));
        return instance.exports as unknown as WarpExports;
      } catch {
        continue;
      }
    }
    return undefined;
  })());

const align = (n: number): number => (n + 15) & ~15;

/**
 * The kernel's output for a task: uint8 images, or with `scaled` their float32 network inputs (times 1/255);
 * undefined when the kernel does not apply (no build here, float images, a fill that is not a uint8 value,
 * coordinates beyond fixed point's range), for the TypeScript warp to do it.
 */
const onKernel = async (t: DistortTask, scaled: boolean): Promise<Uint8Array | Float32Array | undefined> => {
  const k = await warpKernel();
  const fill = t.spec.fill ?? 0;
  const { rows, cols } = t;
  const size = rows * cols;
  const count = t.indices.length;
  if (k === undefined || !(t.images instanceof Uint8Array) || !byteFill(fill)) return undefined;
  const offsets = taskOffsets(t);
  const warps: Warp[] = [];
  for (let j = 0; j < count; j++) warps.push(drawWarp(t.spec, rows, cols, { seed: t.seed, epoch: t.epoch, index: t.indices[j]! }));
  if (!warps.every((w) => fixedFits(rows, cols, w))) return undefined;
  const elastic = warps.some((w) => w.field !== undefined);
  // layout: source images, output, parameters, field offsets, padded scratch
  const outBytes = count * size * (scaled ? 4 : 1);
  const src = align(k.__heap_base?.value ?? 1024);
  const dst = align(src + count * size);
  const params = align(dst + outBytes);
  const field = align(params + count * 24);
  const pad = align(field + (elastic ? count * size * 8 : 0));
  const end = pad + (rows + 4) * (cols + 4);
  const have = k.memory.buffer.byteLength;
  if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
  const buffer = k.memory.buffer;
  const images = new Uint8Array(buffer, src, count * size);
  for (let j = 0; j < count; j++) images.set(t.images.subarray(offsets[j]!, offsets[j]! + size), j * size);
  const p = new Int32Array(buffer, params, count * 6);
  const f = elastic ? new Int32Array(buffer, field, count * size * 2) : undefined;
  warps.forEach((w, j) => {
    p.set(fixedParams(w, rows, cols), j * 6);
    if (f !== undefined) {
      const dx = w.field?.dx;
      const dy = w.field?.dy;
      for (let i = 0; i < size; i++) {
        f[j * 2 * size + i] = dx ? fixedOffset(dx[i]!) : 0;
        f[j * 2 * size + size + i] = dy ? fixedOffset(dy[i]!) : 0;
      }
    }
  });
  k.warpMany(src, dst, params, elastic ? field : 0, pad, count, rows, cols, fill, scaled ? 1 : 0);
  const out = buffer.slice(dst, dst + outBytes);
  return scaled ? new Float32Array(out) : new Uint8Array(out);
};

/** `distortMany` of a task, with the wasm kernel where it applies (the same bits either way). */
export const distortManyFast = async <I extends Uint8Array | Float32Array>(t: DistortTask<I>): Promise<I> => ((await onKernel(t, false)) ?? distortMany(t)) as I;

/**
 * The network inputs of a task's images, one row per image: `distortMany` (nothing when the spec has zero
 * magnitude, the identity), then uint8 pixels scaled by 1/255 as `toBatch` does (the same bits), float32
 * features as they are; the wasm kernel does both where it applies. What a batch worker returns, so the
 * training thread touches no pixel.
 */
export const batchInputs = async (t: DistortTask): Promise<Float32Array> => {
  if (isIdentity(t.spec)) return gatherInputs(t.images, taskOffsets(t), t.rows * t.cols);
  const x = await onKernel(t, true);
  if (x instanceof Float32Array) return x;
  const images = distortMany(t);
  return images instanceof Uint8Array ? scaleBytes(new Float32Array(images)) : images;
};
