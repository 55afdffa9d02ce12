/**
 * The dispatcher in-process: unexpected exceptions become one line and exit 2 (the stack only with
 * --debug), --version, and a training run on a terminal keeps --json's stdout pure while progress goes to
 * stderr.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOut, type CliIo } from '../../src/cli/io.js';
import { parseJson } from '../../src/io/json.js';
import { rmTmp, runMain, tmp, writeMnistSlice } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = tmp();
  mkdirSync(join(dir, 'mnist'));
  writeMnistSlice(join(dir, 'mnist'), 300, 100);
});
afterAll(() => rmTmp(dir));

/** An io whose stdout throws on write: any command that prints hits an unexpected exception. */
const brokenIo = (): CliIo & { err: () => string } => {
  const stderr = captureOut();
  return {
    stdout: {
      write: () => {
        throw new Error('EPIPE: the output went away');
      },
      isTTY: false,
      columns: 80,
    },
    stderr,
    env: {},
    cwd: dir,
    onSignal: () => () => undefined,
    err: stderr.text,
  };
};

describe('gradpipe main', () => {
  it('turns an unexpected exception into one line and exit 2; --debug adds the stack', async () => {
    const io = brokenIo();
    expect(await main(['info'], io)).toBe(2);
    expect(io.err()).toBe('gradpipe: internal error: EPIPE: the output went away (run with --debug for details)\n');
    const dbg = brokenIo();
    expect(await main(['info', '--debug'], dbg)).toBe(2);
    expect(dbg.err()).toMatch(/^gradpipe: internal error: EPIPE: the output went away \(stack trace follows\)\nError: EPIPE.*\n\s+at /);
  });

  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runMain(['--version']);
    expect([r.code, r.stdout]).toEqual([0, `${pkg.version}\n`]);
    const none = await runMain([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Usage: gradpipe <command>/);
  });

  it('on a terminal, --json keeps stdout to the summary and draws progress on stderr', async () => {
    const out = join(dir, 'run');
    const r = await runMain(['train', '--data', join(dir, 'mnist'), '--layers', '784-8-10', '--epochs', '2', '--batch-size', '10', '--out', out, '--json', '--backend', 'ts'], { cwd: dir, tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout)).toEqual(parseJson(readFileSync(join(out, 'summary.json'), 'utf8')));
    expect(r.stderr).toContain('epoch 1/2 ');
    expect(r.stderr).toContain('\r\x1b[2K');
    expect((parseJson(r.stdout) as { backend: string }).backend).toBe('ts');
  });

  it('--quiet prints only the final line', async () => {
    const r = await runMain(['train', '--data', join(dir, 'mnist'), '--layers', '784-8-10', '--epochs', '1', '--batch-size', '64', '--out', join(dir, 'quiet'), '--quiet', '--backend', 'ts'], { cwd: dir, tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^test accuracy \d+\.\d\d% \(loss \d\.\d{4}\) after 1 epoch, 5 steps; reached 1 epoch; .* saved to quiet\n$/);
  });

  it('a resumed run without --data uses the data folder its summary records', async () => {
    const r = await runMain(['train', '--resume', 'quiet', '--epochs', '2', '--quiet', '--backend', 'ts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const summary = parseJson(readFileSync(join(dir, 'quiet', 'summary.json'), 'utf8')) as { data: string; epochs: number; steps: number };
    expect([summary.data, summary.epochs, summary.steps]).toEqual([join(dir, 'mnist'), 2, 10]);
  });

  it('refuses to overwrite a finished run, and says how to continue it', async () => {
    const r = await runMain(['train', '--data', join(dir, 'mnist'), '--out', join(dir, 'quiet'), '--quiet'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([1, 'gradpipe: --out: quiet already holds a run (checkpoint.safetensors); choose another folder, or continue that run with --resume quiet\n']);
  });
});
