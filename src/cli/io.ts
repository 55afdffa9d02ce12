/**
 * What a command may touch of the outside world, passed in so that tests can run a command in-process with
 * captured output, and the bin passes the real process.
 */
import { resolve } from 'node:path';

export interface Out {
  write(text: string): void;
  /** True for an interactive terminal: progress is redrawn in place. */
  readonly isTTY: boolean;
  /** Terminal width (80 when unknown). */
  readonly columns: number;
}

export type Signal = 'SIGINT' | 'SIGTERM';

export interface CliIo {
  readonly stdout: Out;
  readonly stderr: Out;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Absolute working directory; relative paths on the command line are taken from here. */
  readonly cwd: string;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  readonly onSignal: (handler: (signal: Signal) => void) => () => void;
}

const outOf = (stream: NodeJS.WriteStream): Out => ({
  write: (text) => void stream.write(text),
  get isTTY() {
    return stream.isTTY === true;
  },
  get columns() {
    return stream.columns > 0 ? stream.columns : 80;
  },
});

/** The real process. */
export const processIo = (): CliIo => ({
  stdout: outOf(process.stdout),
  stderr: outOf(process.stderr),
  env: process.env,
  cwd: process.cwd(),
  onSignal: (handler) => {
    const listeners = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
      const l = (): void => handler(sig);
      process.on(sig, l);
      return [sig, l] as const;
    });
    // Once a command lets go of a signal, the signal is held (ignored) rather than given back to node's
    // default, which kills the process: the command still has its outputs to return, and main's last step
    // installs the handler that exits with the command's code. A signal in between changes nothing.
    return () =>
      listeners.forEach(([sig, l]) => {
        if (!process.listeners(sig).includes(held)) process.on(sig, held);
        process.off(sig, l);
      });
  },
});

/** What a signal does between a command's handlers and main's last one: nothing (see processIo). */
const held = (): void => {};

/** An `Out` that keeps what is written (for tests and in-process callers). */
export const captureOut = (isTTY = false, columns = 80): Out & { readonly text: () => string } => {
  const parts: string[] = [];
  return { write: (t) => void parts.push(t), isTTY, columns, text: () => parts.join('') };
};

/** `path` taken from the command's working directory. */
export const resolvePath = (io: CliIo, path: string): string => resolve(io.cwd, path);
