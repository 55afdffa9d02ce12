/** The module graph of src/ has no cycle (type-only imports included: a cycle of types is a cycle of ideas). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './typecheck.js';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'assembly' ? [] : sources(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });

/** The relative imports of each file, resolved to files. */
export const importGraph = (files: readonly string[], read: (f: string) => string): Map<string, string[]> =>
  new Map(
    files.map((f) => [
      f,
      [...read(f).matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts'))),
    ]),
  );

/** The cycles of a graph, each as the list of its nodes (strongly connected components of more than one node, or a self-loop). */
export const cycles = (graph: ReadonlyMap<string, readonly string[]>): string[][] => {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
};

describe('imports', () => {
  it('finds a cycle when there is one', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(cycles(g).map((c) => c.sort())).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('no import cycle remains in src/', () => {
    const graph = importGraph(sources(join(root, 'src')), (f) => readFileSync(f, 'utf8'));
    expect(cycles(graph).map((c) => c.map((f) => relative(root, f)).sort())).toEqual([]);
  });
});
