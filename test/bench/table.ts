/** Plain-text tables for the benchmarks, in Markdown pipe syntax so they paste into docs/benchmarks.md. */

/** A Markdown table with columns padded to their widest cell. */
export const formatTable = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
};

/** Samples per second with thousands separators and no decimals (3 significant digits below 100). */
export const rate = (x: number): string =>
  !Number.isFinite(x) ? '-' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3);

/** A ratio as `x12.3` (two significant digits below 10). */
export const ratio = (x: number): string => (!Number.isFinite(x) ? '-' : x >= 10 ? `x${x.toFixed(1)}` : `x${x.toFixed(2)}`);
