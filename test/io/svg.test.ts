import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/svg.js';
import { allElements, parseXml, type XmlElement } from './support/xml.js';

const byClass = (root: XmlElement, cls: string): XmlElement[] => allElements(root).filter((e) => e.attrs.class === cls);
const num = (s: string | undefined): number => Number(s);

/** The linear map from data to pixels that the axis labels imply (two labels fix it). */
const axisMap = (labels: XmlElement[], attr: 'x' | 'y'): ((v: number) => number) => {
  const a = labels[0]!;
  const b = labels[labels.length - 1]!;
  const [va, vb, pa, pb] = [Number(a.text), Number(b.text), num(a.attrs[attr]), num(b.attrs[attr])];
  return (v) => pa + ((v - va) / (vb - va)) * (pb - pa);
};

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true });

describe('niceTicks', () => {
  it('covers 0.13..0.97 with steps of 0.2', () => {
    expect(_.niceTicks(0.13, 0.97, 5)).toEqual({ min: 0, max: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
  });

  const args = [finite, finite, fc.integer({ min: 2, max: 10 }), fc.boolean()] as const;

  prop.prop([...args], { numRuns: 300 })('ticks[0] <= min and ticks[last] >= max', (a, b, target, integers) => {
    const t = _.niceTicks(Math.min(a, b), Math.max(a, b), target, integers);
    expect(t.ticks[0]).toBeLessThanOrEqual(Math.min(a, b));
    expect(t.ticks[t.ticks.length - 1]).toBeGreaterThanOrEqual(Math.max(a, b));
    expect(t.ticks.length).toBeLessThanOrEqual(Math.ceil(1.5 * (target - 1)) + 3);
  });

  prop.prop([...args], { numRuns: 300 })('consecutive ticks differ by step', (a, b, target, integers) => {
    const t = _.niceTicks(Math.min(a, b), Math.max(a, b), target, integers);
    expect(t.ticks.length).toBeGreaterThanOrEqual(2);
    t.ticks.slice(1).forEach((x, i) => expect(Math.abs(x - t.ticks[i]! - t.step)).toBeLessThan(t.step * 1e-6));
  });

  prop.prop([...args], { numRuns: 300 })('step = m * 10^k with m in {1, 2, 5}', (a, b, target, integers) => {
    const t = _.niceTicks(Math.min(a, b), Math.max(a, b), target, integers);
    const mantissa = t.step / 10 ** Math.floor(Math.log10(t.step) + 1e-9);
    // 10 is 1 * 10^(k+1) when log10 rounds just below an integer
    expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
  });

  prop.prop([fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 2, max: 10 })], { numRuns: 300 })(
    'integer data (integers) gets integer ticks',
    (a, b, target) => {
      const t = _.niceTicks(Math.min(a, b), Math.max(a, b), target, true);
      expect(Number.isInteger(t.step)).toBe(true);
      t.ticks.forEach((x) => expect(Number.isInteger(x)).toBe(true));
    },
  );
});

describe('lineChart', () => {
  const point = fc.tuple(fc.integer({ min: 0, max: 50 }), fc.double({ min: -10, max: 10, noNaN: true }));

  prop.prop([fc.array(fc.array(point, { minLength: 2, maxLength: 8 }), { minLength: 1, maxLength: 3 })], { numRuns: 100 })(
    'draws every point where the axis labels say it is',
    (seriesPoints) => {
      const svg = _.lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: seriesPoints.map((points, i) => ({ name: `s${i}`, points })) });
      const root = parseXml(svg);
      const xs = byClass(root, 'tick-x');
      const ys = byClass(root, 'tick-y');
      fc.pre(xs.length >= 2 && ys.length >= 2);
      const fx = axisMap(xs, 'x');
      const fy = axisMap(ys, 'y');
      const lines = byClass(root, 'series');
      expect(lines).toHaveLength(seriesPoints.length);
      lines.forEach((line, i) => {
        const drawn = line.attrs.points!.split(' ').map((p) => p.split(',').map(Number));
        expect(drawn).toHaveLength(seriesPoints[i]!.length);
        drawn.forEach(([px, py], k) => {
          const [x, y] = seriesPoints[i]![k]!;
          expect(Math.abs(px! - fx(x))).toBeLessThan(0.02);
          expect(Math.abs(py! - fy(y))).toBeLessThan(0.02);
        });
      });
    },
  );

  it('skips non-finite points, breaks the line there and says so in the legend', () => {
    const svg = _.lineChart({
      title: 'loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [
        { name: 'train', points: [[1, 2], [2, 1.5], [3, Number.NaN], [4, 1], [5, 0.8], [6, Number.POSITIVE_INFINITY]] },
        { name: 'validation', points: [[1, 2.1], [2, 1.7]] },
      ],
    });
    const root = parseXml(svg);
    expect(byClass(root, 'series').map((l) => [l.attrs['data-series'], l.attrs.points!.split(' ').length])).toEqual([
      ['train', 2],
      ['train', 2],
      ['validation', 2],
    ]);
    expect(byClass(root, 'legend').map((t) => t.text)).toEqual(['train (2 non-finite points skipped)', 'validation']);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('says there is nothing to plot when no point is finite', () => {
    const root = parseXml(_.lineChart({ title: 'x', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, Number.NaN]] }] }));
    expect(allElements(root).some((e) => e.text === 'no finite data to plot')).toBe(true);
    expect(byClass(root, 'legend')[0]!.text).toBe('a (1 non-finite point skipped)');
  });

  it('escapes titles and labels', () => {
    const title = `<b> & "quotes" 'too'`;
    const root = parseXml(_.lineChart({ title, xLabel: 'a<b', yLabel: 'c&d', series: [{ name: 'x&y', points: [[0, 1]] }] }));
    const texts = allElements(root).map((e) => e.text);
    expect(texts).toEqual(expect.arrayContaining([title, 'a<b', 'c&d', 'x&y']));
  });

  it('puts integer ticks on an epoch axis', () => {
    const root = parseXml(_.lineChart({ title: '', xLabel: '', yLabel: '', series: [{ name: 'a', points: [[1, 0], [2, 1], [3, 0.5]] }] }));
    expect(byClass(root, 'tick-x').map((t) => t.text)).toEqual(['1', '2', '3']);
  });
});

describe('curvesSvg', () => {
  it('draws loss on one panel and accuracy on the other, validation dashed', () => {
    const epochs = [1, 2, 3].map((epoch) => ({ epoch, trainLoss: 1 / epoch, validationLoss: 1.2 / epoch, trainAccuracy: 0.9 + epoch / 100, validationAccuracy: 0.88 + epoch / 100 }));
    const root = parseXml(_.curvesSvg(epochs, 'run 1'));
    const panels = root.children.filter((c) => c.name === 'g');
    expect(panels).toHaveLength(2);
    const titles = panels.map((p) => allElements(p).find((e) => e.attrs['font-weight'] === 'bold')!.text);
    expect(titles).toEqual(['Loss', 'Accuracy']);
    for (const p of panels) {
      const lines = allElements(p).filter((e) => e.attrs.class === 'series');
      expect(lines.map((l) => [l.attrs['data-series'], l.attrs['stroke-dasharray']])).toEqual([
        ['training', undefined],
        ['validation', '6 4'],
      ]);
    }
  });
});

describe('confusionMatrixSvg', () => {
  it('shows every count in its cell, the recall per row and the accuracy', () => {
    const m = [
      [5, 1, 0],
      [2, 7, 1],
      [0, 0, 4],
    ];
    const root = parseXml(_.confusionMatrixSvg(m, ['a', 'b', '<c>']));
    const cells = byClass(root, 'cell');
    expect(cells.map((c) => [c.attrs['data-true'], c.attrs['data-predicted'], Number(c.attrs['data-count']), c.children[1]!.text])).toEqual(
      m.flatMap((r, i) => r.map((n, j) => [['a', 'b', '<c>'][i], ['a', 'b', '<c>'][j], n, String(n)])),
    );
    expect(byClass(root, 'recall').map((t) => t.text)).toEqual(['83.3%', '70.0%', '100.0%']);
    expect(root.children.find((c) => c.name === 'title')!.text).toBe('Confusion matrix: accuracy 80.0% of 20');
  });

  it('throws on a matrix that does not match the labels', () => {
    expect(() => _.confusionMatrixSvg([[1, 2]], ['a'])).toThrow(RangeError);
    expect(() => _.confusionMatrixSvg([[-1]], ['a'])).toThrow(RangeError);
  });
});
