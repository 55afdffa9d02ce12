/**
 * The platform seam of the wasm backend, a browser's side (see ../wasm.ts for Node's): bytes come from
 * `fetch`, engines take no flags (Chromium has shipped relaxed SIMD since 114), the core count is
 * `navigator.hardwareConcurrency`, and there is no environment.
 */
interface BrowserGlobals {
  fetch(url: string): Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
  navigator?: { hardwareConcurrency?: number };
}
const web = globalThis as unknown as BrowserGlobals;

/** The bytes at `url`; rejects when the fetch fails or answers other than 2xx. */
export const readBytes = async (url: URL | string): Promise<Uint8Array> => {
  const href = typeof url === 'string' ? url : url.href;
  const res = await web.fetch(href);
  if (!res.ok) throw new Error(`${href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
};

/** Browsers take no engine flags: a feature is on or it is not. */
export const setEngineFlag = (_flag: string): void => undefined;

/** No installed package to look in: the page serves the builds beside its bundle. */
export const packageAsset = (_file: string): URL | undefined => undefined;

/** The logical processors the browser reports (at least 1). */
export const cores = (): number => Math.max(1, web.navigator?.hardwareConcurrency ?? 1);

/** A page has no environment variables. */
export const envVar = (_name: string): string | undefined => undefined;
