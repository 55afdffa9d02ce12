/**
 * Pixels as a network takes them. A module with no imports, so that the augmentation workers, which load it
 * at start, load nothing else with it.
 */

/**
 * Byte pixels, already converted to float32 (by `set`, native code), scaled by 1/255 in place: twice as fast
 * as scaling per pixel while converting, with the same bits (each pixel is an exact integer before the one
 * rounding multiply). Returns `x`.
 */
export const scaleBytes = (x: Float32Array): Float32Array => {
  const scale = 1 / 255;
  for (let k = 0; k < x.length; k++) x[k] = x[k]! * scale;
  return x;
};

/**
 * The network inputs of the images at `offsets` (pixel offsets into `images`), one row of `size` each: uint8
 * pixels scaled by 1/255 (`scaleBytes`, by `kernel` when given: a backend's `scaledGather`, the same bits),
 * float32 features as they are. Into `out` (every element written) when given, else a new array.
 */
export const gatherInputs = (
  images: Uint8Array | Float32Array,
  offsets: Uint32Array,
  size: number,
  kernel?: (src: Uint8Array, offsets: Uint32Array, size: number, out: Float32Array) => void,
  out?: Float32Array,
): Float32Array => {
  const x = out ?? new Float32Array(offsets.length * size);
  if (kernel !== undefined && images instanceof Uint8Array) {
    kernel(images, offsets, size, x);
    return x;
  }
  offsets.forEach((o, j) => x.set(images.subarray(o, o + size), j * size));
  return images instanceof Uint8Array ? scaleBytes(x) : x;
};
