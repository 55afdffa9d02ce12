/**
 * A confusion matrix as an SVG heatmap: rows are true classes, columns predicted classes, each cell shows
 * its count and is shaded by its share of the row (so rare classes are as readable as common ones); a
 * last column gives each class's recall, the title the overall accuracy.
 */
import { el, escapeXml, svgDocument, text } from './xml.js';

/** White to dark blue for a fraction in [0, 1]; the square root makes a 1% confusion visible. */
const shade = (fraction: number): string => {
  const f = Math.sqrt(fraction);
  const lerp = (a: number, b: number): number => Math.round(a + (b - a) * f);
  return `rgb(${lerp(255, 8)},${lerp(255, 48)},${lerp(255, 107)})`;
};

const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

/**
 * The heatmap of `matrix[true][predicted]` with class `labels`. Throws a `RangeError` (a programmer error)
 * unless the matrix is square, matches the labels and holds non-negative integers.
 */
export const confusionMatrixSvg = (matrix: readonly (readonly number[])[], labels: readonly string[], title = 'Confusion matrix'): string => {
  const n = matrix.length;
  if (labels.length !== n || matrix.some((r) => r.length !== n)) {
    throw new RangeError(`confusionMatrixSvg: need an ${labels.length}x${labels.length} matrix for ${labels.length} labels`);
  }
  if (matrix.some((r) => r.some((c) => !Number.isInteger(c) || c < 0))) throw new RangeError('confusionMatrixSvg: counts must be non-negative integers');
  const cell = 44;
  const left = 90;
  const top = 78;
  const rowTotals = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((s, r, i) => s + r[i]!, 0);
  const width = left + cell * (n + 1) + 24;
  const height = top + cell * n + 24;
  const cells = matrix.flatMap((r, i) =>
    r.map((count, j) => {
      const f = rowTotals[i]! === 0 ? 0 : count / rowTotals[i]!;
      const x = left + j * cell;
      const y = top + i * cell;
      return el(
        'g',
        { class: 'cell', 'data-true': labels[i]!, 'data-predicted': labels[j]!, 'data-count': String(count) },
        el('rect', { x, y, width: cell, height: cell, fill: shade(f), stroke: i === j ? '#111' : '#fff', 'stroke-width': i === j ? 1.5 : 1 }),
        text({ x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle', fill: f > 0.4 ? 'white' : '#111', 'font-size': count >= 10000 ? 9 : 11 }, String(count)),
      );
    }),
  );
  const axes = [
    ...labels.map((l, j) => text({ x: left + j * cell + cell / 2, y: top - 8, 'text-anchor': 'middle' }, l)),
    ...labels.map((l, i) => text({ x: left - 8, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, l)),
    text({ x: left + (cell * n) / 2, y: top - 28, 'text-anchor': 'middle', 'font-weight': 'bold' }, 'predicted'),
    text({ x: 18, y: top + (cell * n) / 2, 'text-anchor': 'middle', 'font-weight': 'bold', transform: `rotate(-90 18 ${top + (cell * n) / 2})` }, 'true'),
    text({ x: left + n * cell + cell / 2, y: top - 8, 'text-anchor': 'middle' }, 'recall'),
    ...rowTotals.map((t, i) =>
      text({ class: 'recall', x: left + n * cell + cell / 2, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'middle', 'font-size': 10 }, t === 0 ? '-' : percent(matrix[i]![i]! / t)),
    ),
  ];
  const heading = `${title}: accuracy ${total === 0 ? '-' : percent(correct / total)} of ${total}`;
  return svgDocument(
    width,
    height,
    el('title', {}, escapeXml(heading)),
    text({ x: width / 2, y: 22, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' }, heading),
    ...cells,
    ...axes,
  );
};
