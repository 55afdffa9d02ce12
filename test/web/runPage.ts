/**
 * Runs the training page once in headless Chromium and prints its summary: the measurement behind the
 * page's figures in the docs (not a test).
 *   npm run web:run -- [QUERY] [SCREENSHOT.png]
 * e.g. `npm run web:run -- '' docs/img/web.png` (the default configuration, with a screenshot).
 * Needs `npm run build` (dist/, the page) and MNIST in ../shared/datasets/mnist (or GRADPIPE_DATA).
 */
import { spawn } from 'node:child_process';
import puppeteer from 'puppeteer-core';

const query = process.argv[2] ?? '';
const shot = process.argv[3];
const data = process.env['GRADPIPE_DATA'] ?? '../shared/datasets/mnist';
const server = spawn(process.execPath, ['dist/src/cli/main.js', 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  server.stdout.on('data', (d: Buffer) => {
    const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(d));
    if (m) resolve(m[1]!);
  });
  server.on('close', (code) => reject(new Error(`gradpipe serve exited with ${code}`)));
});
const browser = await puppeteer.launch({ executablePath: process.env['GRADPIPE_CHROMIUM'] ?? '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const t0 = Date.now();
  await page.goto(`${url}?${query}${query ? '&' : ''}autostart=1`);
  await page.waitForFunction(() => ['done', 'diverged', 'error'].includes(document.body.dataset['state'] ?? ''), { timeout: 3_600_000 });
  const state = await page.evaluate(() => document.body.dataset['state']);
  const summary = JSON.parse(await page.$eval('#summary', (e) => e.textContent ?? '{}')) as Record<string, unknown>;
  const { confusion: _c, config: _k, options, ...figures } = summary;
  console.log(JSON.stringify({ state, query, pageSeconds: (Date.now() - t0) / 1000, ...figures, options }, null, 2));
  if (shot) {
    // draw the first test digit into the canvas so the screenshot shows the probabilities too
    await page.evaluate(() => {
      const canvas = document.getElementById('draw') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 24;
      ctx.lineCap = 'round';
      ctx.beginPath();
      ctx.moveTo(70, 70);
      ctx.lineTo(210, 70);
      ctx.lineTo(120, 220);
      ctx.stroke();
      canvas.dispatchEvent(new Event('change'));
    });
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
  }
} finally {
  await browser.close();
  server.kill('SIGINT');
}
