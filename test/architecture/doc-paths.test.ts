/**
 * The docs name files that exist: every `src/...`, `test/...`, `train/...` or `scripts/...` path written in
 * backticks in README.md or docs/*.md must be a file or folder of the checkout (a rename that forgets the
 * docs fails here). Paths with a placeholder (`<name>`, `{a,b}`, `*`) are patterns, not files, and are skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './checkout.js';

/** The repository paths named in backticks in a Markdown text, with their line numbers. */
export function docPaths(markdown: string): { line: number; path: string }[] {
  const out: { line: number; path: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    for (const span of lines[i]!.matchAll(/`([^`]+)`/g)) {
      for (const m of span[1]!.matchAll(/(?:^|[\s(=,'"])((?:src|test|train|scripts)\/[^\s`'",;()]*)/g)) {
        let path = m[1]!.replace(/[.:,]+$/, '').replace(/:\d+(?:-\d+)?$/, '');
        if (/[<>{}*$]/.test(path)) continue;
        out.push({ line: i + 1, path });
      }
    }
  }
  return out;
}

test('docPaths reads backticked repository paths and skips patterns', () => {
  const md = 'See `src/a/b.ts` and `node dist/src/x.js`, `test/e2e/`, `src/radio/devices/<name>.ts`, `train/x.py:12`.\nplain src/not/quoted.ts';
  assert.deepEqual(docPaths(md), [
    { line: 1, path: 'src/a/b.ts' },
    { line: 1, path: 'test/e2e/' },
    { line: 1, path: 'train/x.py' },
  ]);
});

test('every src/, test/, train/ and scripts/ path in README.md and docs/*.md exists', () => {
  const root = repoRoot();
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const missing: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    for (const { line, path } of docPaths(readFileSync(join(root, doc), 'utf8'))) {
      checked++;
      if (!existsSync(join(root, path))) missing.push(`${doc}:${line}: \`${path}\``);
    }
  }
  assert.ok(checked > 20, `found only ${checked} paths in ${docs.length} docs`);
  assert.deepEqual(missing, [], `${missing.length} path(s) in the docs name no file of the repository`);
});
