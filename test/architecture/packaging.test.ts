/**
 * What the desktop package ships (electron-builder.yml, `files:`): the app's own code and everything it
 * imports, and none of the test doubles (the hardware fakes, the `testing` helper modules, the benchmark that
 * drives a fake). Both are checked on the sources: the modules the Electron entry points reach through value
 * imports (static and dynamic) must all be packaged, and every fake must be left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { globRegExp, importsOf } from './layers.js';
import { repoRoot } from './checkout.js';

/** The `files:` patterns of electron-builder.yml, in order (a leading '!' excludes). */
export function packagedPatterns(yml: string): string[] {
  const out: string[] = [];
  let inFiles = false;
  for (const line of yml.split('\n')) {
    if (/^\S/.test(line)) inFiles = /^files:\s*$/.test(line);
    else if (inFiles) {
      const m = /^\s+-\s+"?([^"#]+?)"?\s*(?:#.*)?$/.exec(line);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}

/** electron-builder's rule: a path is packaged when a pattern includes it and no later '!' pattern excludes it. */
export function isPackaged(path: string, patterns: string[]): boolean {
  let packaged = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globRegExp(p.slice(1)).test(path)) packaged = false;
    } else if (globRegExp(p).test(path)) packaged = true;
  }
  return packaged;
}

/** The built file of a source: src/x/y.ts -> dist/src/x/y.js, app/preload/p.cts -> dist/app/preload/p.cjs. */
function builtPath(source: string): string {
  return `dist/${source.replace(/\.cts$/, '.cjs').replace(/\.ts$/, '.js')}`;
}

function sourcesUnder(root: string, rel: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...sourcesUnder(root, path));
    else if (/\.c?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every source module the entry points reach through imports that survive compilation. */
function reachable(root: string, entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file) || !existsSync(join(root, file))) continue;
    seen.add(file);
    for (const ref of importsOf(file, readFileSync(join(root, file), 'utf8'))) {
      if (!ref.typeOnly && ref.target.kind === 'file') todo.push(ref.target.path);
    }
  }
  return seen;
}

const TEST_DOUBLES = [/\/fakes\//, /\/testing\.ts$/, /^src\/radio\/devices\/hackrf-bench\.ts$/];

test('the files: patterns are read and follow electron-builder order', () => {
  const patterns = packagedPatterns('appId: x\nfiles:\n  # the code\n  - dist/**/*\n  - "!dist/**/*.test.js"\n  - package.json\nlinux:\n  - no\n');
  assert.deepEqual(patterns, ['dist/**/*', '!dist/**/*.test.js', 'package.json']);
  assert.equal(isPackaged('dist/src/a.js', patterns), true);
  assert.equal(isPackaged('dist/src/a.test.js', patterns), false);
  assert.equal(isPackaged('src/a.ts', patterns), false);
  assert.equal(isPackaged('dist/src/a.test.js', [...patterns, 'dist/src/a.test.js']), true, 'a later pattern wins');
});

test('the package holds every module the app reaches and none of the test doubles', () => {
  const root = repoRoot();
  const patterns = packagedPatterns(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
  assert.ok(patterns.includes('dist/**/*'), `files: read as ${JSON.stringify(patterns)}`);
  const entries = [...sourcesUnder(root, 'app/main'), ...sourcesUnder(root, 'app/preload'), ...sourcesUnder(root, 'app/renderer')].filter((f) => !/\.test\.ts$/.test(f));
  const reached = reachable(root, entries);
  assert.ok([...reached].some((f) => f.startsWith('src/server/')), 'the main process reaches the engine');
  const missing = [...reached].filter((f) => !isPackaged(builtPath(f), patterns));
  assert.deepEqual(missing, [], 'modules the app imports but the package leaves out');
  const doubles = [...sourcesUnder(root, 'src'), ...sourcesUnder(root, 'app')].filter((f) => !f.endsWith('.test.ts') && TEST_DOUBLES.some((r) => r.test(f)));
  assert.ok(doubles.some((f) => f.includes('/fakes/')), `found the fakes: ${doubles.join(', ')}`);
  assert.deepEqual(doubles.filter((f) => isPackaged(builtPath(f), patterns)), [], 'test doubles the package ships');
  assert.deepEqual(doubles.filter((f) => reached.has(f)), [], 'test doubles the app imports');
});
