/**
 * Line charts as dependency-free SVG: axes with nice ticks, grid, legend, one polyline per series.
 *
 * 1. Non-finite points (a diverged loss) are skipped; the line breaks there, and the legend entry says
 *    how many were skipped, so a gap is never mistaken for missing data.
 * 2. Both axes cover all finite points (or the `yMin`/`yMax` given); x ticks are integers when every x is.
 * 3. A series of one point, or a piece of one point between skipped points, is drawn as a marker.
 */
import { formatTick, niceTicks, type Ticks } from './ticks.js';
import { el, px, svgDocument, text } from './xml.js';

/** A point of a series: [x, y]. */
export type Point = readonly [number, number];

/** One named line of a chart. */
export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  /** Dashed line (e.g. validation curves beside solid training curves). */
  readonly dashed?: boolean;
}

/** A line chart: title, axis labels and series. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly yMin?: number;
  readonly yMax?: number;
}

/** A width and a height in pixels. */
export interface Size {
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe (Okabe and Ito 2008). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

const MARGIN = { top: 34, right: 16, bottom: 46, left: 66 } as const;

const isFinitePoint = (p: Point): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]);

/** Runs of consecutive finite points. */
const finiteRuns = (points: readonly Point[]): Point[][] => {
  const runs: Point[][] = [[]];
  for (const p of points) {
    if (isFinitePoint(p)) runs[runs.length - 1]!.push(p);
    else if (runs[runs.length - 1]!.length > 0) runs.push([]);
  }
  return runs.filter((r) => r.length > 0);
};

const axisTicks = (values: readonly number[], integers: boolean, lo?: number, hi?: number): Ticks =>
  values.length === 0 && lo === undefined && hi === undefined
    ? niceTicks(0, 1)
    : niceTicks(lo ?? Math.min(...values), hi ?? Math.max(...values), 6, integers);

/** The x axis spans the data exactly (epochs 1..12, not 0..15), with the nice ticks inside it. */
const extentTicks = (values: readonly number[]): Ticks => {
  const nice = axisTicks(values, values.length > 0 && values.every(Number.isInteger));
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (values.length === 0 || lo === hi) return nice;
  const pad = (hi - lo) * 0.02; // keeps the first and last markers off the frame
  return { min: lo - pad, max: hi + pad, step: nice.step, ticks: nice.ticks.filter((t) => t >= lo && t <= hi) };
};

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The corner of the plot area where the legend hides the fewest drawn points (sampled along the lines). */
const legendCorner = (plot: Box, width: number, height: number, runs: readonly (readonly [number, number])[][]): Box => {
  const samples = runs.flatMap((run) =>
    run.length === 1 ? run : run.slice(1).flatMap((b, i) => Array.from({ length: 8 }, (_x, k) => [run[i]![0] + ((b[0] - run[i]![0]) * k) / 8, run[i]![1] + ((b[1] - run[i]![1]) * k) / 8] as const)),
  );
  const pad = 6;
  const corners: Box[] = [
    { x: plot.x + plot.width - width - pad, y: plot.y + pad, width, height },
    { x: plot.x + plot.width - width - pad, y: plot.y + plot.height - height - pad, width, height },
    { x: plot.x + pad, y: plot.y + pad, width, height },
    { x: plot.x + pad, y: plot.y + plot.height - height - pad, width, height },
  ];
  const hidden = (b: Box): number => samples.filter(([x, y]) => x >= b.x - pad && x <= b.x + b.width + pad && y >= b.y - pad && y <= b.y + b.height + pad).length;
  return corners.reduce((best, c) => (hidden(c) < hidden(best) ? c : best));
};

const legendLabel = (s: Series): string => {
  const skipped = s.points.filter((p) => !isFinitePoint(p)).length;
  return skipped === 0 ? s.name : `${s.name} (${skipped} non-finite point${skipped === 1 ? '' : 's'} skipped)`;
};

/** One chart as an SVG group of size `width` x `height`, its top-left corner at (`x`, `y`). */
export const chartGroup = (spec: ChartSpec, x: number, y: number, width: number, height: number): string => {
  const finite = spec.series.flatMap((s) => s.points.filter(isFinitePoint));
  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const xt = extentTicks(xs);
  const yt = axisTicks(ys, false, spec.yMin, spec.yMax);
  const pw = width - MARGIN.left - MARGIN.right;
  const ph = height - MARGIN.top - MARGIN.bottom;
  const sx = (v: number): number => MARGIN.left + ((v - xt.min) / (xt.max - xt.min)) * pw;
  const sy = (v: number): number => MARGIN.top + ph - ((v - yt.min) / (yt.max - yt.min)) * ph;
  const bottom = MARGIN.top + ph;

  const grid = [
    ...yt.ticks.map((t) => el('line', { x1: MARGIN.left, x2: MARGIN.left + pw, y1: sy(t), y2: sy(t), stroke: '#e5e5e5' })),
    ...yt.ticks.map((t) => text({ class: 'tick-y', x: MARGIN.left - 6, y: sy(t), dy: '0.32em', 'text-anchor': 'end' }, formatTick(t, yt.step))),
    ...xt.ticks.map((t) => el('line', { x1: sx(t), x2: sx(t), y1: bottom, y2: bottom + 5, stroke: '#333' })),
    ...xt.ticks.map((t) => text({ class: 'tick-x', x: sx(t), y: bottom + 18, 'text-anchor': 'middle' }, formatTick(t, xt.step))),
    el('rect', { x: MARGIN.left, y: MARGIN.top, width: pw, height: ph, fill: 'none', stroke: '#333' }),
  ];
  const labels = [
    text({ x: width / 2, y: 20, 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' }, spec.title),
    text({ x: MARGIN.left + pw / 2, y: height - 8, 'text-anchor': 'middle' }, spec.xLabel),
    text({ x: 16, y: MARGIN.top + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 16 ${px(MARGIN.top + ph / 2)})` }, spec.yLabel),
  ];
  const markers = finite.length <= 60;
  const runs = spec.series.map((s) => finiteRuns(s.points).map((run) => run.map((p): [number, number] => [sx(p[0]), sy(p[1])])));
  const lines = spec.series.flatMap((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const dash = s.dashed ? '6 4' : undefined;
    return runs[i]!.flatMap((run) => [
      ...(run.length > 1
        ? [el('polyline', { class: 'series', 'data-series': s.name, points: run.map(([x, y]) => `${px(x)},${px(y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2, 'stroke-dasharray': dash })]
        : []),
      ...(markers || run.length === 1 ? run.map(([x, y]) => el('circle', { cx: x, cy: y, r: 3, fill: colour })) : []),
    ]);
  });
  const empty = finite.length === 0 ? [text({ x: MARGIN.left + pw / 2, y: MARGIN.top + ph / 2, 'text-anchor': 'middle', fill: '#666' }, 'no finite data to plot')] : [];
  const entries = spec.series.map(legendLabel);
  const box = legendCorner({ x: MARGIN.left, y: MARGIN.top, width: pw, height: ph }, 34 + Math.max(0, ...entries.map((e) => e.length)) * 6.6, 8 + 16 * entries.length, runs.flat());
  const legend =
    entries.length === 0
      ? []
      : [
          el('rect', { ...box, fill: 'white', 'fill-opacity': 0.85, stroke: '#ccc' }),
          ...entries.flatMap((label, i) => {
            const ly = box.y + 14 + 16 * i;
            return [
              el('line', { x1: box.x + 6, x2: box.x + 26, y1: ly - 4, y2: ly - 4, stroke: PALETTE[i % PALETTE.length]!, 'stroke-width': 2, 'stroke-dasharray': spec.series[i]!.dashed ? '6 4' : undefined }),
              text({ class: 'legend', x: box.x + 32, y: ly }, label),
            ];
          }),
        ];
  return el('g', { transform: `translate(${px(x)} ${px(y)})` }, ...grid, ...labels, ...lines, ...empty, ...legend);
};

/** A standalone SVG document with one chart (default 640 x 400). */
export const lineChart = (spec: ChartSpec & Size): string => {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  return svgDocument(width, height, chartGroup(spec, 0, 0, width, height));
};

/** Charts side by side in one SVG document (each `width` x `height`, default 520 x 380), under an optional title. */
export const panelsSvg = (panels: readonly ChartSpec[], options: Size & { readonly title?: string } = {}): string => {
  const width = options.width ?? 520;
  const height = options.height ?? 380;
  const top = options.title === undefined ? 0 : 30;
  return svgDocument(
    width * panels.length,
    height + top,
    ...(options.title === undefined ? [] : [text({ x: (width * panels.length) / 2, y: 22, 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 'bold' }, options.title)]),
    ...panels.map((p, i) => chartGroup(p, i * width, top, width, height)),
  );
};

/** One epoch's figures for `curvesSvg`; missing ones are left out of the plot. */
export interface EpochCurves {
  readonly epoch: number;
  readonly trainLoss?: number;
  readonly validationLoss?: number;
  readonly trainAccuracy?: number;
  readonly validationAccuracy?: number;
  /** The test set's figures, drawn for display when the run has no validation split. */
  readonly testLoss?: number;
  readonly testAccuracy?: number;
}

/** `curves.svg`: loss per epoch (training and held-out: validation, or test for display) on the left, accuracy on the right. */
export const curvesSvg = (epochs: readonly EpochCurves[], title?: string): string => {
  const series = (name: string, key: Exclude<keyof EpochCurves, 'epoch'>, dashed: boolean): Series[] => {
    const points = epochs.flatMap((e): Point[] => (e[key] === undefined ? [] : [[e.epoch, e[key]]]));
    return points.length === 0 ? [] : [{ name, points, dashed }];
  };
  return panelsSvg(
    [
      { title: 'Loss', xLabel: 'epoch', yLabel: 'loss', series: [...series('training', 'trainLoss', false), ...series('validation', 'validationLoss', true), ...series('test (display only)', 'testLoss', true)] },
      { title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy', series: [...series('training', 'trainAccuracy', false), ...series('validation', 'validationAccuracy', true), ...series('test (display only)', 'testAccuracy', true)] },
    ],
    title === undefined ? {} : { title },
  );
};
