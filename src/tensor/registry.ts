/**
 * Which backend is in use. The default is resolved once (`auto`: native BLAS when its addon was built and
 * loads, else WebAssembly SIMD, else the TypeScript reference); `useBackend` switches it explicitly.
 */
import type { Backend } from './backend.js';
import { createTsBackend } from './ts.js';

let current: Backend | undefined;

/** The TypeScript reference backend, in use until another is chosen. */
export const tsBackend: Backend = createTsBackend();

/** The backend in use (the TypeScript reference until another is chosen). */
export const getBackend = (): Backend => current ?? tsBackend;

/** Makes `backend` the one in use; returns the previous one (not disposed). */
export const setBackend = (backend: Backend): Backend => {
  const prev = getBackend();
  current = backend;
  return prev;
};

