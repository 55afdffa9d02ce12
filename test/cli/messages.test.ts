/**
 * The messages of issue 14, point 5, through the CLI: each says what is wrong in gradpipe's terms and offers
 * only what is actually available.
 * - a value that underflows to 0 is refused like one that overflows;
 * - --threads has one valid range in every command;
 * - a damaged PNG is described by what is wrong with it, never by the decoder's internals;
 * - a checkpoint given as --model says it is a checkpoint and what to give instead;
 * - when the previous checkpoint is damaged too, the hint does not offer it;
 * - a full disk: summary.json lists only files that exist, and the hint's command resumes the run once
 *   space is freed (a real tmpfs where `mount` works, see runDir.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src/io/image.js';
import { fsError, onceSpaceIsFreed } from '../../src/io/ioError.js';
import { parseJson } from '../../src/io/json.js';
import { ensureBuilt, rmTmp, runCli, runMain, tmp, writeMnistSlice } from './helpers.js';

let dir: string;
let data: string;
let run: string;
const mounts: string[] = [];

const SMALL = ['--layers', '784-16-10', '--epochs', '2', '--batch-size', '50', '--quiet'];

beforeAll(async () => {
  ensureBuilt();
  dir = tmp();
  data = join(dir, 'mnist');
  mkdirSync(data);
  writeMnistSlice(data, 500, 100);
  run = join(dir, 'run');
  const r = await runCli(['train', '--data', data, ...SMALL, '--out', run], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmTmp(dir);
});

const NO_DATA = '/nonexistent/gradpipe-data';

/** The one line of an exit-1 refusal. */
const refusal = async (args: readonly string[]): Promise<string> => {
  const r = await runMain(args, { cwd: dir });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
};

describe('messages', () => {
  it('--lr 1e-400, which would become 0, is refused like --lr 1e400, which would become Infinity', async () => {
    const under = await refusal(['train', '--data', NO_DATA, '--lr', '1e-400']);
    const over = await refusal(['train', '--data', NO_DATA, '--lr', '1e400']);
    expect(under).toBe("gradpipe: --lr: '1e-400' is too small to represent: it would become 0; give a number >= 0 (e.g. --lr 0.05), or 0 itself");
    expect(over).toBe("gradpipe: --lr: '1e400' is not a finite number; give a number >= 0 (e.g. --lr 0.05)");
    // the same for every decimal option; an honest 0 is still a value
    expect(await refusal(['train', '--data', NO_DATA, '--weight-decay', '0.0e-999'])).toMatch(/^gradpipe: --data/);
    expect(await refusal(['train', '--data', NO_DATA, '--clip-norm', '1e-500'])).toMatch(/^gradpipe: --clip-norm: '1e-500' is too small to represent/);
  });

  it('--threads states one valid range, 1 to 64, in every command and for every wrong value', async () => {
    const commands = [['train', '--data', NO_DATA], ['eval', '--model', run, '--data', NO_DATA], ['predict', '--model', run, 'x.png'], ['info']];
    const hints = new Set<string>();
    for (const command of commands) {
      for (const threads of ['0', '65', '1000']) {
        const line = await refusal([...command, '--threads', threads]);
        expect(line).toMatch(new RegExp(`^gradpipe: --threads: ${threads} is out of range; `));
        hints.add(line.slice(line.indexOf(';')));
      }
    }
    expect([...hints]).toEqual(['; give a whole number from 1 to 64 (e.g. --threads 2)']);
  });

  it('a damaged PNG given to predict is described in gradpipe terms, with what to do', async () => {
    const png = encodePng(new Uint8Array(28 * 28).fill(9), 28, 28);
    const cut = join(dir, 'cut.png');
    writeFileSync(cut, png.subarray(0, png.length - 20));
    const line = await refusal(['predict', '--model', run, cut]);
    expect(line).toMatch(/^gradpipe: .*cut\.png: is not a readable PNG: it is truncated: its IDAT chunk at byte 33 needs \d+ bytes of data but the file ends at byte \d+; the file is damaged: save or export the image again$/);
  });

  it('a checkpoint given as --model says so, and names the run\'s model when there is one, else how to make it', async () => {
    expect(await refusal(['eval', '--model', 'run/checkpoint.safetensors', '--data', data])).toBe(
      `gradpipe: ${join(run, 'checkpoint.safetensors')}: is a training checkpoint, not a model; its run's model is run/model.safetensors: give --model run`,
    );
    const stopped = join(dir, 'stopped');
    mkdirSync(stopped);
    copyFileSync(join(run, 'checkpoint.safetensors'), join(stopped, 'checkpoint.safetensors'));
    expect(await refusal(['predict', '--model', 'stopped/checkpoint.safetensors', 'x.png'])).toBe(
      `gradpipe: ${join(stopped, 'checkpoint.safetensors')}: is a training checkpoint, not a model; its run has no model.safetensors (it was stopped before its end, or diverged): continue it with gradpipe train --resume stopped, which writes one, then give --model stopped`,
    );
  });

  it('resuming with both checkpoints damaged: the hint does not offer the previous one', async () => {
    const both = join(dir, 'both');
    mkdirSync(both);
    for (const f of ['checkpoint.safetensors', 'checkpoint.prev.safetensors']) {
      const bytes = readFileSync(join(run, f));
      writeFileSync(join(both, f), bytes.subarray(0, bytes.length - 100));
    }
    const line = await refusal(['train', '--resume', both, '--data', data]);
    expect(line).toMatch(/checkpoint\.safetensors: is corrupted or truncated .*; the previous checkpoint .*both\/checkpoint\.prev\.safetensors is damaged too: restore one from a backup, or train again from the start$/);
    expect(line).not.toMatch(/resume from the previous/);
  });

  it('a full disk: summary.json lists only the files that exist, and the hint resumes the run once space is freed', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    // 784-100-10 with momentum: a 638 KB checkpoint fits in 900 KB, the 319 KB model beside it does not
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=900k', 'tmpfs', disk]).status !== 0) {
      // no mount here: at least the hint a full disk gets, from a simulated ENOSPC
      const e = onceSpaceIsFreed(fsError('model.safetensors', 'write it', Object.assign(new Error('no space'), { code: 'ENOSPC' })), 'gradpipe train --resume run');
      return void expect(e.hint).toBe('free some space, then continue with gradpipe train --resume run');
    }
    mounts.push(disk);
    const out = join(disk, 'run');
    const args = ['train', '--data', data, '--layers', '784-100-10', '--optimizer', 'momentum', '--epochs', '2', '--quiet'];
    const full = await runCli([...args, '--out', out], { cwd: dir });
    expect(full.code, full.stderr).toBe(1);
    const last = full.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/model\.safetensors: cannot write .*: the disk is full; free some space, then continue with gradpipe train --resume (.*)$/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const summary = parseJson(readFileSync(join(out, 'summary.json'), 'utf8')) as { files: Record<string, string> };
    expect(Object.values(summary.files)).not.toContain('model.safetensors');
    for (const f of Object.values(summary.files)) expect(existsSync(join(out, f)), f).toBe(true);
    // free space (grow the tmpfs) and run exactly the command the hint gave
    expect(spawnSync('mount', ['-o', 'remount,size=4m', disk]).status).toBe(0);
    const command = /continue with gradpipe (train --resume .*)$/.exec(last)![1]!.split(' ');
    const resumed = await runCli([...command, '--data', data], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    const after = parseJson(readFileSync(join(out, 'summary.json'), 'utf8')) as { files: Record<string, string> };
    expect(after.files['model']).toBe('model.safetensors');
    rmSync(out, { recursive: true, force: true });
  });
});
