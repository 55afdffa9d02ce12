/**
 * `gradpipe serve`: the training page on http://127.0.0.1:PORT/, cross-origin isolated (COOP same-origin,
 * COEP require-corp: the page needs SharedArrayBuffer and a shared wasm memory). It serves
 *   /            the page (dist/web/, bundled from pipelines/web/ by `npm run build:web`)
 *   /wasm/FILE   the wasm builds (dist/wasm/)
 *   /data/NAME   the four MNIST files of the resolved data folder, as stored (NAME.gz or NAME; the page
 *                decompresses with DecompressionStream)
 * and nothing else. Prints the URL, runs until SIGINT/SIGTERM. A port in use or missing data is one line
 * and exit 1.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { gradpipeError, optionError, type GradpipeError } from '../errors.js';
import { findMnistFile, MNIST_NAMES } from '../data/mnistFiles.js';
import { flag, optional, parseCommand, parseInteger, str, type CommandSpec } from './args.js';
import { dataDir, EXIT, fail, printHelp } from './common.js';
import type { CliIo } from './io.js';
import { packageInfo } from './version.js';

export const SERVE_SPEC: CommandSpec = {
  name: 'serve',
  usage: 'gradpipe serve [options]',
  summary: 'Serve the training page (MNIST in a Worker, live curves, drawing canvas) on 127.0.0.1.',
  options: {
    port: { type: 'string', value: 'N', help: 'port to listen on (default 8080; 0 picks a free one)' },
    data: { type: 'string', value: 'DIR', help: 'MNIST data folder (default: GRADPIPE_DATA, data/mnist, ../shared/datasets/mnist)' },
    open: { type: 'boolean', help: 'open the page in the default browser' },
  },
  notes: ['The page takes the training options of gradpipe train in its query, e.g. /?layers=784-64-10&epochs=1&autostart=1.'],
};

export const DEFAULT_PORT = 8080;

/** The isolation headers (and no caching: a rebuilt bundle is picked up on reload). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** What the server maps: the page's folder, the wasm folder and the data folder. */
export interface ServeRoots {
  readonly web: string;
  readonly wasm: string;
  readonly data: string;
}

/** The file a request path names, or undefined (a 404): only names in the three folders, no `..`. */
export const routeOf = (roots: ServeRoots, path: string): string | undefined => {
  const name = (prefix: string): string | undefined => {
    const rest = path.slice(prefix.length);
    return /^[A-Za-z0-9_.-]+$/.test(rest) && !rest.startsWith('.') ? rest : undefined;
  };
  if (path === '/' || path === '/index.html') return join(roots.web, 'index.html');
  if (path.startsWith('/data/')) {
    const n = name('/data/');
    return n !== undefined && (MNIST_NAMES as readonly string[]).includes(n) ? findMnistFile(roots.data, n) : undefined;
  }
  if (path.startsWith('/wasm/')) {
    const n = name('/wasm/');
    return n?.endsWith('.wasm') ? join(roots.wasm, n) : undefined;
  }
  if (path.startsWith('/app/')) {
    const n = name('/app/');
    return n === undefined ? undefined : join(roots.web, n);
  }
  return undefined;
};

/** Starts the server on 127.0.0.1:`port`; `Left` when the port cannot be had. */
export const startServer = (roots: ServeRoots, port: number): Promise<E.Either<GradpipeError, { server: Server; url: string }>> =>
  new Promise((resolve) => {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const file = req.method === 'GET' || req.method === 'HEAD' ? routeOf(roots, path) : undefined;
      const send = (status: number, body: Uint8Array | string, type: string): void => {
        res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (file === undefined) return send(404, 'not found\n', 'text/plain; charset=utf-8');
      readFile(file).then(
        (bytes) => send(200, bytes, file.endsWith('.gz') ? 'application/gzip' : (TYPES[extname(file)] ?? 'application/octet-stream')),
        () => send(404, 'not found\n', 'text/plain; charset=utf-8'),
      );
    });
    server.once('error', (e: NodeJS.ErrnoException) => {
      resolve(
        E.left(
          e.code === 'EADDRINUSE'
            ? optionError('--port', `port ${port} on 127.0.0.1 is in use`, 'stop what holds it, or pass another --port (0 picks a free one)')
            : optionError('--port', `cannot listen on 127.0.0.1:${port} (${e.message})`, 'pass another --port'),
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      resolve(E.right({ server, url: `http://127.0.0.1:${actual}/` }));
    });
  });

/** Where the installed package keeps the page and the wasm builds. */
export const packageRoots = (): Pick<ServeRoots, 'web' | 'wasm'> => {
  const root = packageInfo().root;
  return { web: join(root, 'dist/web'), wasm: join(root, 'dist/wasm') };
};

const openBrowser = (url: string): void => {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  spawn(cmd, [url], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref();
};

/** `gradpipe serve`. */
export const runServe = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const parsed = parseCommand(SERVE_SPEC, argv);
  if (E.isLeft(parsed)) return fail(io, parsed.left);
  const { values } = parsed.right;
  if (flag(values, 'help')) return printHelp(io, SERVE_SPEC);
  const port = optional(values, 'port', (t) => parseInteger('--port', t, 0, '8080', 65535));
  if (E.isLeft(port)) return fail(io, port.left);
  const data = dataDir(io, str(values, 'data'));
  if (E.isLeft(data)) return fail(io, data.left);
  const roots = { ...packageRoots(), data: data.right.dir };
  for (const f of [join(roots.web, 'index.html'), join(roots.wasm, 'gradpipe.wasm')]) {
    if (!existsSync(f)) return fail(io, gradpipeError('IOError', f, 'the page has not been built', 'run `npm run build` (it bundles pipelines/web with esbuild)'));
  }
  const started = await startServer(roots, port.right ?? DEFAULT_PORT);
  if (E.isLeft(started)) return fail(io, started.left);
  const { server, url } = started.right;
  io.stdout.write(`gradpipe: serving the training page at ${url} (data: ${roots.data}); Ctrl-C stops\n`);
  if (flag(values, 'open')) openBrowser(url);
  await new Promise<void>((resolve) => {
    const off = io.onSignal(() => {
      off();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });
  return EXIT.ok;
};
