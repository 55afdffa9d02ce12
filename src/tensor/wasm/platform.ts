/**
 * The platform seam of the wasm loader, Node's side: reading a build's bytes and setting an engine flag.
 * The loader (module.ts) names its files as URLs relative to itself, the form bundlers understand; only
 * this file touches `node:` modules. A browser implementation (fetch, no flags) will sit beside it.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';

/** The bytes at `url` (a file: URL or a path here); rejects when it cannot be read. */
export const readBytes = async (url: URL | string): Promise<Uint8Array> => new Uint8Array(await readFile(url));

/** Turns on a V8 flag for the whole process (worker threads share it). */
export const setEngineFlag = (flag: string): void => setFlagsFromString(flag);

/**
 * Where the installed package holds `file` (the `gradpipe/wasm/*` export), for code bundled away from the
 * package's own folder (esbuild copies no assets; a bundle run inside a project still finds the package);
 * undefined when the package cannot be resolved from here.
 */
export const packageAsset = (file: string): URL | undefined => {
  try {
    return new URL(import.meta.resolve(`gradpipe/wasm/${file}`));
  } catch {
    return undefined;
  }
};
