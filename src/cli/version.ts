/**
 * The package's own name and version, read from package.json found upwards from this module (the module
 * sits at src/cli/ when run from source and at dist/src/cli/ when compiled).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  /** The folder holding package.json (the installed package's root). */
  readonly root: string;
}

let cached: PackageInfo | undefined;

/** gradpipe's package.json (name, version, root); `unknown` when it cannot be found. */
export const packageInfo = (): PackageInfo => {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'gradpipe') return (cached = { name: pkg.name, version: pkg.version ?? 'unknown', root: dir });
      } catch {
        // an unreadable package.json further down the tree is not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  return (cached = { name: 'gradpipe', version: 'unknown', root: dir });
};
