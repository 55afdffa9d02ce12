/**
 * The native backend where there is one (Node, with the addon built at install). A browser has none:
 * browser/native.ts says so, and the package's `imports` map (`#platform/native.js`) picks the file, so a
 * browser bundle carries none of the addon loader's `node:` modules.
 */
export { createNativeBackend } from '../tensor/native/index.js';
