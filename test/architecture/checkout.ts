/** Where the architecture tests find the repository they check. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: the first folder above this module with package.json, src/, app/ and docs/ (it runs from dist/test/architecture/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (['package.json', 'src', 'app', 'docs'].every((f) => existsSync(join(dir, f)))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no checkout (package.json, src/, app/, docs/) above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
