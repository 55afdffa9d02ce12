/** Reading files: the streamed source of a pipeline (Node only; read.ts holds the in-memory sources). */
import { streamExamples, type Example } from '../data/streamExamples.js';

/** Streams the examples of an images/labels IDX pair (headers validated first; errors throw GradpipeException). */
export const readFiles = (imagesFile: string, labelsFile: string): AsyncIterable<Example<Uint8Array>> => streamExamples(imagesFile, labelsFile);
