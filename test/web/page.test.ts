/**
 * The training page in a real browser: headless Chromium (Debian's, /usr/bin/chromium, or
 * GRADPIPE_CHROMIUM) driven by puppeteer-core, the page served by `gradpipe serve` on the real MNIST files.
 * One small configuration (784-64-10, the first 10,000 training images, 2 epochs, seed 3) serves every test:
 * accuracy, live curves, long tasks, the model's bytes against `gradpipe train --backend wasm` with the same
 * options (bit identity), the drawing canvas, Stop then Resume; and a diverging configuration shows its report.
 * With GRADPIPE_WEB_SCREENSHOT=FILE, the page after the run is saved there (docs/img/web.png in the README).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, MNIST, readMnistSlice, rmTmp, ROOT, runCli, tmp } from '../cli/helpers.js';
import { ensureBuilt } from '../cli/helpers.js';

const CHROMIUM = process.env['GRADPIPE_CHROMIUM'] ?? '/usr/bin/chromium';
const SMALL = ['--layers', '784-64-10', '--train-limit', '10000', '--epochs', '2', '--seed', '3'];
const SMALL_QUERY = 'layers=784-64-10&train-limit=10000&epochs=2&seed=3';

let server: ChildProcess;
let url = '';
let browser: Browser;
const out = tmp('gradpipe-web-');

beforeAll(async () => {
  ensureBuilt();
  const built = spawnSync(process.execPath, [join(ROOT, 'pipelines/web/build.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build:web failed');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set GRADPIPE_CHROMIUM)`);
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', MNIST], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(d));
      if (m) resolve(m[1]!);
    });
    server.on('close', (code) => reject(new Error(`gradpipe serve exited with ${code}`)));
  });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
});
afterAll(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  rmTmp(out);
});

/** A complete event of Chromium's trace: `dur` wall and `tdur` thread (CPU) microseconds. */
interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly tdur?: number;
}

/**
 * Opens the page with `query`, long tasks recorded from the first script on, and `extra` run before the
 * page's own scripts; with `trace`, Chromium's trace of top-level tasks (wall and thread time) and user
 * timing marks is recorded from before the page loads (stop it with page.tracing.stop()).
 */
const open = async (query: string, extra?: () => void, trace = false): Promise<Page> => {
  const page = await browser.newPage();
  if (trace) await page.tracing.start({ categories: ['__metadata', 'toplevel', 'blink.user_timing'] });
  await page.setViewport({ width: 1100, height: 900 });
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { longTasks: [number, number][] };
    w.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push([e.startTime, e.duration]))).observe({ type: 'longtask', buffered: true });
  });
  if (extra) await page.evaluateOnNewDocument(extra);
  await page.goto(`${url}?${query}`);
  return page;
};

const ended = async (page: Page, states = ['done', 'diverged', 'error']): Promise<string> => {
  await page.waitForFunction((s: string[]) => s.includes(document.body.dataset['state'] ?? ''), { timeout: 240_000, polling: 250 }, states);
  return page.evaluate(() => document.body.dataset['state']!);
};

/** The bytes behind the page's "Download model" link. */
const downloaded = async (page: Page): Promise<Buffer> =>
  Buffer.from(
    await page.evaluate(async () => {
      const a = document.getElementById('download') as HTMLAnchorElement;
      const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    }),
    'base64',
  );

describe('the training page', () => {
  let page: Page;
  let model: Buffer;
  let summary: Record<string, unknown>;
  let trace: TraceEvent[];

  beforeAll(async () => {
    page = await open(`${SMALL_QUERY}&autostart=1`, undefined, true);
    expect(await ended(page)).toBe('done');
    trace = (JSON.parse(Buffer.from((await page.tracing.stop())!).toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    summary = JSON.parse(await page.$eval('#summary', (e) => e.textContent ?? '')) as Record<string, unknown>;
    model = await downloaded(page);
    const shot = process.env['GRADPIPE_WEB_SCREENSHOT'];
    if (shot) await page.screenshot({ path: join(ROOT, shot) as `${string}.png`, fullPage: true });
  });

  it('is cross-origin isolated, with SharedArrayBuffer and the wasm backend on every core', async () => {
    expect(await page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer])).toEqual([true, 'function']);
    expect(summary['backend']).toBe('wasm');
    expect(summary['threads']).toBe(await page.evaluate(() => navigator.hardwareConcurrency));
  });

  it('trains 784-64-10 on 10,000 images for 2 epochs to at least 90% test accuracy', () => {
    expect(summary['epochs']).toBe(2);
    expect(summary['examplesSeen']).toBe(20_000);
    expect(summary['testCount']).toBe(10_000);
    expect(summary['testAccuracy']).toBeGreaterThanOrEqual(0.9);
  });

  it('updated the curves at least once per epoch, and shows the confusion matrix', async () => {
    const drawn = (await page.$eval('#charts', (e) => (e as HTMLElement).dataset['drawn'] ?? '')).split(',').map(Number);
    // redrawn while epoch 1 ran (no epoch point yet), with epoch 1's point, and with epoch 2's
    expect(new Set(drawn)).toEqual(new Set([0, 1, 2]));
    expect(await page.$eval('#confusion', (e) => e.innerHTML)).toContain('<svg');
  });

  /*
   * A long task is 50 ms of wall time on the main thread. On this shared 2-core machine the training
   * Worker's two threads and other processes compete for the cores, and a task of a few ms of the page's
   * own work can wait long enough off the CPU to pass 50 ms (seen: 61 ms with six busy processes beside
   * the test). So each long task the PerformanceObserver reports is looked up, in the same run, in
   * Chromium's trace of the page's main thread: its thread time (`tdur`, CPU time) is the page's work, the
   * rest is the machine's load. The check fails on any long task whose own work reaches 50 ms, as the
   * plain observer check does on an idle machine (there wall time is CPU time), and on a long task the
   * trace cannot account for.
   */
  it('kept main-thread long tasks under 50 ms of the page\'s own work while training', async () => {
    const { longTasks, running, ended: end } = await page.evaluate(() => ({
      longTasks: (window as unknown as { longTasks: [number, number][] }).longTasks,
      running: performance.getEntriesByName('gradpipe:running')[0]!.startTime,
      ended: performance.getEntriesByName('gradpipe:ended')[0]!.startTime,
    }));
    expect(end - running).toBeGreaterThan(500); // the window covers the fetch and the training
    // the page's main thread and the trace clock (microseconds) at the `gradpipe:running` mark
    const mark = trace.find((e) => e.name === 'gradpipe:running')!;
    expect(mark).toBeDefined();
    const traceUs = (ms: number): number => mark.ts + (ms - running) * 1000;
    const tasks = trace.filter((e) => e.ph === 'X' && e.pid === mark.pid && e.tid === mark.tid && e.name.endsWith('RunTask') && e.dur !== undefined);
    const inWindow = tasks.filter((t) => t.ts >= traceUs(running) && t.ts < traceUs(end));
    expect(inWindow.length).toBeGreaterThan(10); // the trace saw the page's main thread work while training
    // and has thread time for its tasks: nearly all (a fresh-clone CI run once saw one without it, under
    // the whole suite's load); a long task whose trace task has none fails below
    expect(inWindow.filter((t) => t.tdur !== undefined).length).toBeGreaterThanOrEqual(0.9 * inWindow.length);
    const accounted = longTasks
      .filter(([start]) => start >= running && start < end)
      .map(([start, duration]) => {
        const [from, to] = [traceUs(start), traceUs(start + duration)];
        const overlap = (t: TraceEvent): number => Math.min(to, t.ts + t.dur!) - Math.max(from, t.ts);
        const task = tasks.reduce<TraceEvent | undefined>((best, t) => (overlap(t) > (best ? overlap(best) : 0) ? t : best), undefined);
        // a long task is at least 50 ms; its trace task must cover most of it
        return { wallMs: Math.round(duration), cpuMs: task && overlap(task) > 0.8 * (to - from) && task.tdur !== undefined ? task.tdur / 1000 : undefined };
      });
    expect(accounted.filter((t) => t.cpuMs === undefined || t.cpuMs >= 50)).toEqual([]);
  });

  it('downloads the model gradpipe train --backend wasm writes with the same options, bit for bit', async () => {
    const run = join(out, 'node');
    const r = await runCli(['train', '--backend', 'wasm', ...SMALL, '--data', MNIST, '--out', run, '--quiet'], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const node = readFileSync(join(run, 'model.safetensors'));
    expect(model.length).toBe(node.length);
    expect(model.equals(node)).toBe(true);
  });

  it('classifies a test digit drawn into the canvas as its label', async () => {
    const { images, labels } = readMnistSlice('t10k', 3);
    for (let i = 0; i < 3; i++) {
      const pixels = Array.from(images.subarray(i * 784, (i + 1) * 784));
      const got = await page.evaluate((px: number[]) => {
        const canvas = document.getElementById('draw') as HTMLCanvasElement;
        const ctx = canvas.getContext('2d')!;
        const s = canvas.width / 28;
        px.forEach((v, k) => {
          ctx.fillStyle = `rgb(${v},${v},${v})`;
          ctx.fillRect((k % 28) * s, Math.floor(k / 28) * s, s, s);
        });
        canvas.dispatchEvent(new Event('change'));
        const probs = document.getElementById('probs')!;
        return { cls: Number(probs.dataset['class']), bars: probs.children.length };
      }, pixels);
      expect(got).toEqual({ cls: labels[i], bars: 10 });
    }
  });

  it('Stop then Resume ends with the same model as the run without a stop', async () => {
    // stop as soon as the first step is shown (from inside the page: no round trip to the test)
    const stopped = await open(SMALL_QUERY + '&autostart=1', () => {
      addEventListener('DOMContentLoaded', () => {
        const progress = document.getElementById('progress')!;
        const obs = new MutationObserver(() => {
          obs.disconnect();
          document.getElementById('stop')!.click();
        });
        obs.observe(progress, { childList: true, characterData: true, subtree: true });
      });
    });
    expect(await ended(stopped, ['stopped', 'done', 'diverged', 'error'])).toBe('stopped');
    await stopped.click('#resume');
    expect(await ended(stopped)).toBe('done');
    const s = JSON.parse(await stopped.$eval('#summary', (e) => e.textContent ?? '')) as Record<string, unknown>;
    expect(s['resumedFrom']).toBeGreaterThan(0);
    expect((await downloaded(stopped)).equals(model)).toBe(true);
    await stopped.close();
  });

  it('a diverging configuration ends in the diverged state with the CLI report and a summary', async () => {
    const p = await open('layers=784-64-10&train-limit=2000&epochs=1&lr=1e30&optimizer=sgd&autostart=1');
    expect(await ended(p)).toBe('diverged');
    expect(await p.$eval('#report', (e) => e.textContent)).toMatch(/^gradpipe: training diverged at [\s\S]*what to try:/);
    expect(JSON.parse(await p.$eval('#summary', (e) => e.textContent ?? ''))).toMatchObject({ diverged: true });
    await p.close();
  });

  it('bad options in the query end in the error state naming the option', async () => {
    const p = await open('layers=784-x-10&autostart=1');
    expect(await ended(p)).toBe('error');
    expect(await p.$eval('#report', (e) => e.textContent)).toContain('--layers');
    await p.close();
  });
});
