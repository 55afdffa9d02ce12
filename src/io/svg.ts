/**
 * Dependency-free SVG plots for run reports: `curves.svg` (loss and accuracy per epoch) and the
 * confusion matrix. Output is standalone, well-formed SVG 1.1 that browsers and rsvg render.
 */
export { confusionMatrixSvg } from './svg/confusion.js';
export { chartGroup, curvesSvg, lineChart, PALETTE, panelsSvg, type ChartSpec, type EpochCurves, type Point, type Series, type Size } from './svg/lineChart.js';
export { formatTick, niceTicks, type Ticks } from './svg/ticks.js';
