/**
 * Where kernels get their scratch buffers. The default allocates fresh zeroed buffers (every result is a
 * new value); a reusable workspace hands back the same buffer for the same slot, so a training loop does not
 * allocate per step what it can reuse. Only buffers that never escape a step may come from a reusable
 * workspace (activations, deltas, gradients consumed by the optimiser); callers must not keep them.
 * Kernels fully overwrite what they take from a workspace (no zeroing is promised).
 */
import { allocLike, type Float } from './matrix.js';

/** A source of scratch buffers (see the module comment). */
export interface Workspace {
  /** A buffer of `length` values of `like`'s type for `slot`; its contents are unspecified. */
  get<F extends Float>(slot: string, like: F, length: number): F;
}

/** Fresh buffers every time. */
export const freshWorkspace: Workspace = { get: (_slot, like, length) => allocLike(like, length) };

/**
 * One buffer per slot, reused while its type and length stay the same. Float32 buffers come from `alloc`
 * when given (a backend's `alloc`: buffers its kernels use in place).
 */
export const reusableWorkspace = (alloc?: (length: number) => Float32Array): Workspace => {
  const slots = new Map<string, Float>();
  return {
    get: <F extends Float>(slot: string, like: F, length: number): F => {
      const b = slots.get(slot);
      if (b !== undefined && b.length === length && b.constructor === like.constructor) return b as F;
      const fresh = alloc && like instanceof Float32Array ? (alloc(length) as F) : allocLike(like, length);
      slots.set(slot, fresh);
      return fresh;
    },
  };
};
