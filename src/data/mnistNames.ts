/**
 * The four file names of the MNIST layout (Fashion-MNIST and other drop-in replacements use the same);
 * mnistFiles.ts finds them on disk, a page fetches them (see fetchMnist.ts).
 */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export type MnistFile = (typeof MNIST_FILES)[keyof typeof MNIST_FILES];

/** The four names, in the order train images, train labels, test images, test labels. */
export const MNIST_NAMES: readonly MnistFile[] = Object.values(MNIST_FILES);
