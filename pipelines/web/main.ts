/**
 * The training page: options from the URL query under the CLI's flag names (parsed by the CLI's own
 * parser), Start / Stop / Resume, live curves from the training Worker's messages, the confusion matrix, a
 * drawing canvas classified with the trained network, and "Download model". When a run ends,
 * `document.body.dataset.state` is `done`, `diverged` or `error` and `#summary` holds the summary JSON
 * (`stopped` while stopped). Composition only: the logic is gradpipe's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseTrainArgs, trainTable } from '../../src/cli/options.js';
import { PIXELS } from '../../src/data/scaling.js';
import { formatError } from '../../src/errors.js';
import { confusionMatrixSvg, lineChart, type Point } from '../../src/io/svg.js';
import { decodeModel } from '../../src/io/modelCodec.js';
import type { Network } from '../../src/nn/network.js';
import { predict } from '../../src/nn/predict.js';
import type { FromWorker, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Query keys of the page itself (the rest are `gradpipe train` flags). */
const PAGE_KEYS = new Set(['autostart']);
const TABLE = trainTable();
const SPEC = { name: 'train', usage: '', summary: '', options: TABLE };

/** The query as a command line: `?layers=784-64-10&json` gives `--layers=784-64-10 --json`. */
export const queryArgv = (query: URLSearchParams): string[] =>
  [...query].flatMap(([k, v]) => {
    if (PAGE_KEYS.has(k)) return [];
    if (TABLE[k]?.type === 'boolean') return v === '' || v === '1' || v === 'true' ? [`--${k}`] : [];
    return [`--${k}=${v}`];
  });

const query = new URLSearchParams(location.search);
const flags = $<HTMLInputElement>('flags');
flags.value = queryArgv(query).join(' ');

let worker: Worker | undefined;
let stop = new SharedArrayBuffer(4);
let network: Network | undefined;
const steps: Point[] = [];
const epochs: { epoch: number; train: number; validation?: number | undefined }[] = [];
let lastStep: { at: number; step: number } | undefined;

/** 12,345: toLocaleString's first call loads locale data, a long task in the middle of training. */
const thousands = (x: number): string => String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const setState = (state: string): void => {
  // marks for automation: training runs between a `gradpipe:running` mark and the next `gradpipe:ended`
  if (state === 'running') performance.mark('gradpipe:running');
  else if (document.body.dataset['state'] === 'running') performance.mark('gradpipe:ended');
  document.body.dataset['state'] = state;
  $<HTMLButtonElement>('start').disabled = state === 'running';
  $<HTMLButtonElement>('stop').disabled = state !== 'running';
  $<HTMLButtonElement>('resume').disabled = state !== 'stopped';
};
const status = (text: string): void => void ($('status').textContent = text);
const chartSize = (): { width: number; height: number } => ({ width: Math.max(280, Math.min(560, $('charts').clientWidth / (innerWidth < 700 ? 1 : 2) - 8)), height: 220 });

/** The accuracy chart changes once an epoch: redrawn only then (each redraw is a parse and a layout). */
let accuracyDrawn = -1;
const drawAccuracy = (size: { width: number; height: number }): void => {
  const acc = [{ name: 'train', points: epochs.map((e): Point => [e.epoch, e.train]) }];
  const val = epochs.filter((e) => e.validation !== undefined).map((e): Point => [e.epoch, e.validation!]);
  $('accuracy').innerHTML = lineChart({ ...size, title: 'accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy', series: val.length ? [...acc, { name: 'validation', points: val }] : acc });
};

const drawCurves = (): void => {
  const size = chartSize();
  $('loss').innerHTML = lineChart({ ...size, title: 'training loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'loss', points: steps }] });
  if (epochs.length !== accuracyDrawn) {
    accuracyDrawn = epochs.length;
    drawAccuracy(size);
  }
  // for automation: the epochs each redraw showed (one entry per redraw)
  const charts = $('charts');
  charts.dataset['drawn'] = `${charts.dataset['drawn'] ?? ''}${charts.dataset['drawn'] ? ',' : ''}${epochs.length}`;
};

/**
 * Redraws at most every 250 ms, in an animation frame: a step message only records its figures, so the
 * main thread never falls behind the Worker (its tasks stay short: no long task while training).
 */
let drawPending = false;
let lastDraw = 0;
const scheduleDraw = (): void => {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => requestAnimationFrame(() => {
    drawPending = false;
    lastDraw = performance.now();
    drawCurves();
  }), Math.max(0, 250 - (performance.now() - lastDraw)));
};

const finish = (state: 'done' | 'diverged' | 'error', summary: unknown): void => {
  $('summary').textContent = JSON.stringify(summary, null, 2);
  setState(state);
};

const onMessage = (m: FromWorker): void => {
  switch (m.kind) {
    case 'status':
      return status(m.text);
    case 'step': {
      const e = m.event;
      steps.push([e.step, e.loss]);
      const now = performance.now();
      const left = lastStep && e.samplesPerSecond > 0 ? ((m.totalSteps - e.step) * (now - lastStep.at)) / Math.max(1, e.step - lastStep.step) / 1000 : undefined;
      lastStep = { at: now, step: e.step };
      $('progress').textContent = `epoch ${e.epoch + 1}, step ${e.step}/${m.totalSteps}, loss ${e.loss.toFixed(4)}, ${thousands(e.samplesPerSecond)} samples/s${left === undefined ? '' : `, about ${Math.ceil(left)} s left`}`;
      return scheduleDraw();
    }
    case 'epoch':
      epochs.push({ epoch: m.event.epoch + 1, train: m.event.trainAccuracy, validation: m.event.validationAccuracy });
      $('charts').dataset['epochs'] = String(epochs.length);
      // drawn at once: behind the 250 ms throttle two short epochs could share one redraw
      lastDraw = performance.now();
      return drawCurves();
    case 'stopped':
      status(`stopped after step ${m.step}; Resume continues from there`);
      return setState('stopped');
    case 'diverged':
      $('report').textContent = m.report;
      status('training diverged: see the report');
      return finish('diverged', m.summary);
    case 'error':
      $('report').textContent = m.message;
      status('error');
      return finish('error', { error: m.message });
    case 'done': {
      const model = decodeModel(m.model, 'model.safetensors');
      if (E.isLeft(model)) return finish('error', { error: formatError(model.left) });
      network = model.right.network;
      const link = $<HTMLAnchorElement>('download');
      link.href = URL.createObjectURL(new Blob([m.model as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      link.hidden = false;
      status(`done: test accuracy ${((m.summary['testAccuracy'] as number) * 100).toFixed(2)}%`);
      // one piece per task, so that none is a long task: the matrix, then the canvas, then the summary
      setTimeout(() => {
        $('confusion').innerHTML = confusionMatrixSvg(m.confusion, m.confusion.map((_r, i) => String(i)), 'Test confusion matrix');
        setTimeout(() => {
          classify();
          setTimeout(() => finish('done', m.summary));
        });
      });
      return;
    }
  }
};

const start = (): void => {
  const args = parseTrainArgs(flags.value.split(/\s+/).filter(Boolean), SPEC);
  if (E.isLeft(args)) {
    $('report').textContent = formatError(args.left);
    return finish('error', { error: formatError(args.left) });
  }
  worker?.terminate();
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
  worker.onerror = (e) => onMessage({ kind: 'error', message: `gradpipe: the training worker failed: ${e.message}` });
  stop = new SharedArrayBuffer(4);
  steps.length = 0;
  epochs.length = 0;
  for (const id of ['report', 'summary', 'confusion']) $(id).textContent = '';
  $('download').hidden = true;
  setState('running');
  status('starting…');
  worker.postMessage({ kind: 'start', options: args.right.options, backend: args.right.backend, threads: args.right.threads, stop } satisfies ToWorker);
};

$('start').addEventListener('click', start);
$('stop').addEventListener('click', () => Atomics.store(new Int32Array(stop), 0, 1));
$('resume').addEventListener('click', () => {
  stop = new SharedArrayBuffer(4);
  setState('running');
  worker?.postMessage({ kind: 'resume', stop } satisfies ToWorker);
});

// drawing: white strokes on black, read back as 28x28 by averaging 10x10 blocks (the MNIST convention)
const canvas = $<HTMLCanvasElement>('draw');
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const clear = (): void => {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
};
clear();
const pixels = (): Uint8Array => {
  const scale = canvas.width / 28;
  const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const out = new Uint8Array(784);
  for (let r = 0; r < 28; r++) {
    for (let c = 0; c < 28; c++) {
      let sum = 0;
      for (let y = 0; y < scale; y++) for (let x = 0; x < scale; x++) sum += rgba[((r * scale + y) * canvas.width + c * scale + x) * 4]!;
      out[r * 28 + c] = Math.round(sum / (scale * scale));
    }
  }
  return out;
};
const classify = (): void => {
  if (network === undefined) return;
  const p = predict(network, pixels(), PIXELS);
  const probs = $('probs');
  probs.dataset['class'] = String(p.class);
  probs.innerHTML = Array.from(p.probabilities, (q, i) => `<div class="bar${i === p.class ? ' best' : ''}"><span>${i}</span><i style="width:${(q * 100).toFixed(1)}%"></i><b>${(q * 100).toFixed(1)}%</b></div>`).join('');
};
let drawing = false;
const at = (e: PointerEvent): [number, number] => {
  const box = canvas.getBoundingClientRect();
  return [((e.clientX - box.left) * canvas.width) / box.width, ((e.clientY - box.top) * canvas.height) / box.height];
};
canvas.addEventListener('pointerdown', (e) => {
  drawing = true;
  canvas.setPointerCapture(e.pointerId);
  ctx.beginPath();
  ctx.moveTo(...at(e));
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.lineTo(...at(e));
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = canvas.width / 12;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.stroke();
});
canvas.addEventListener('pointerup', () => {
  drawing = false;
  classify();
});
// a program that paints the canvas itself says so with a change event
canvas.addEventListener('change', classify);
$('clear').addEventListener('click', () => (clear(), classify()));

addEventListener('resize', () => {
  accuracyDrawn = -1;
  drawCurves();
});
setState('idle');
drawCurves(); // the first layout of the charts happens now, not in the middle of training
if (!crossOriginIsolated) status('this page is not cross-origin isolated: serve it with gradpipe serve');
if (query.get('autostart') === '1') start();
