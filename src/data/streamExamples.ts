/**
 * Examples of an MNIST-layout pair read incrementally, for data that does not fit in memory.
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, GradpipeException } from '../errors.js';
import { openPair, type DatasetOptions } from './dataset.js';

/** One labelled image, as the read stage yields it. */
export interface Example<I extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  /**
   * rows*cols values, row-major: uint8 pixels (scaled by 1/255 when batched), or float features already
   * scaled (batched as they are). From the files, a fresh buffer the consumer may keep.
   */
  readonly image: I;
  readonly label: number;
  /** Position in the files, from 0. */
  readonly index: number;
}

/** Cuts a stream of chunks into records of `size` bytes, holding at most one chunk and one record. */
async function* records(chunks: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array, void, undefined> {
  let partial = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(size - filled, chunk.length - at);
      partial.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === size) {
        yield partial;
        partial = new Uint8Array(size);
        filled = 0;
      }
    }
  }
}

/**
 * The examples of an images file and a labels file (gzipped or raw), in file order, with bounded memory
 * (one decompressed chunk per file and one image). Both headers are checked (see `checkLayout`) before
 * the first example; labels are checked against `opts.classes` when given. Defects are thrown as
 * `GradpipeException`s carrying a `DataError` (an iterable cannot return an `Either` mid-stream);
 * truncation or gzip damage found at the end of a file is thrown after the last good example.
 */
export async function* streamExamples(
  imagesFile: string,
  labelsFile: string,
  opts: DatasetOptions = {},
): AsyncGenerator<Example<Uint8Array>, void, undefined> {
  const pair = await openPair(imagesFile, labelsFile, opts);
  if (E.isLeft(pair)) throw new GradpipeException(pair.left);
  const { images, labels, layout } = pair.right;
  const imageIt = records(images.body, layout.rows * layout.cols)[Symbol.asyncIterator]();
  const labelIt = records(labels.body, 1)[Symbol.asyncIterator]();
  try {
    for (let index = 0; ; index++) {
      const [image, label] = await Promise.all([imageIt.next(), labelIt.next()]);
      // Both bodies hold exactly `count` records (or throw): they end together, after the end checks.
      if (image.done || label.done) break;
      const value = label.value[0]!;
      if (opts.classes !== undefined && value >= opts.classes) {
        throw new GradpipeException(
          dataError(labelsFile, `label ${value} at index ${index} is outside 0..${opts.classes - 1} (${opts.classes} classes)`, `fix the labels file, or give the network ${value + 1} or more outputs (the last size of --layers)`),
        );
      }
      yield { image: image.value, label: value, index };
    }
  } finally {
    await Promise.all([imageIt.return?.(), labelIt.return?.(), images.close(), labels.close()]);
  }
}
