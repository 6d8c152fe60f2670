/**
 * The layering is enforced: every import of the TypeScript sources (src/, app/) must go a way the rules of
 * layers.ts allow (docs/architecture.md, "Layering"). A failure names the file, the line, the import and the
 * rule with its reason. The checker is first run on planted wrong-way imports, so this test is known to fail
 * when it should.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLayers, EXEMPTIONS, formatViolation, globRegExp, importsOf, RULES, type Exemption } from './layers.js';
import { repoRoot } from './checkout.js';

/** Every .ts file under the given folders of the checkout, by repository path. */
function readSources(root: string, folders: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(path);
      } else if (e.name.endsWith('.ts')) out.set(path, readFileSync(join(root, path), 'utf8'));
    }
  };
  for (const f of folders) walk(f);
  return out;
}

let checked: { sources: Map<string, string>; result: ReturnType<typeof checkLayers> } | undefined;
/** The checkout's sources and their check, read once for the tests below. */
function checkout() {
  if (!checked) {
    const sources = readSources(repoRoot(), ['src', 'app']);
    checked = { sources, result: checkLayers(sources) };
  }
  return checked;
}

test('every import of src/ and app/ goes the way the layering allows', () => {
  const { sources, result } = checkout();
  assert.ok(sources.size > 100 && sources.has('src/cli/main.ts') && sources.has('app/renderer/main.ts'), `read only ${sources.size} sources`);
  const { violations } = result;
  assert.equal(violations.length, 0, `${violations.length} wrong-way import(s):\n${violations.map(formatViolation).join('\n')}`);
});

test('every exemption names a rule and still exempts something', () => {
  const ids = new Set(RULES.map((r) => r.id));
  assert.equal(ids.size, RULES.length, 'rule ids are unique');
  for (const e of EXEMPTIONS) assert.ok(ids.has(e.rule), `exemption of ${e.files.join(', ')} names no rule: ${e.rule}`);
  const { unusedExemptions } = checkout().result;
  assert.deepEqual(unusedExemptions.map((e: Exemption) => `${e.rule}: ${e.files.join(', ')}`), [], 'stale exemptions: remove them');
});

test('the checker reports planted wrong-way imports with file, line and rule', () => {
  const planted = new Map<string, string>([
    ['src/radio/x.ts', "import { a } from './devices/types.js';\n// import { no } from '../gsc/commented.js';\nimport { y } from '../gsc/y.js';\n"],
    ['src/radio/phy/p.ts', "import { readFileSync } from 'node:fs';\nimport net from 'net';\nimport { Rng } from '../channel/rng.js';\nimport { SigmfWriter } from '../sigmf/writer.js';\nimport { performance } from 'node:perf_hooks';\n"],
    ['src/util/u.ts', "export { DekagError } from '../gsc/errors.js';\n"],
    ['src/server/s.ts', "const s = 'import(\"../cli/in-a-string.js\")';\nexport async function f() {\n  return import('../cli/args.js');\n}\n"],
    ['src/session/t.ts', "export type { A } from '../server/api.js';\nimport { B } from '../radio/devices/types.js';\n"],
    ['src/gsc/g.ts', "import type { SdrDevice } from '../radio/devices/types.js';\nimport { UsageError } from '../util/errors.js';\n"],
    ['src/cli/c.ts', "import { runServe } from '../server/serve.js';\nimport { parse } from './args.js';\nimport { app } from 'electron';\n"],
    ['src/radio/devices/d.ts', "import { main } from '../../../app/main/main.js';\n"],
    [
      'app/renderer/r.ts',
      "import type { A } from '../../src/server/api.js';\nimport { type B, type C } from '../../src/server/api.js';\nimport { D } from '../../src/server/api.js';\nimport { readFile } from 'node:fs/promises';\nimport { Chart } from 'chart.js';\nimport { E } from './charts.js';\nlet x: import('../../src/gsc/jscc.js').JsccCodec;\n",
    ],
    ['app/main/m.ts', "import { createEngine } from '../../src/server/backends.js';\nimport { app } from 'electron';\n"],
  ]);
  const { violations } = checkLayers(planted, RULES, []);
  const got = violations.map((v) => `${v.file}:${v.line} ${v.rule.id}`);
  assert.deepEqual(got, [
    'app/renderer/r.ts:3 renderer-types-only-from-src',
    'app/renderer/r.ts:4 renderer-no-node',
    'src/cli/c.ts:2 cli-is-top',
    'src/cli/c.ts:3 src-no-electron',
    'src/gsc/g.ts:1 gsc-only-util',
    'src/radio/devices/d.ts:1 src-not-app-or-test',
    'src/radio/devices/d.ts:1 radio-below-gsc-and-sessions',
    'src/radio/phy/p.ts:1 phy-channel-no-io',
    'src/radio/phy/p.ts:2 phy-channel-no-io',
    'src/radio/phy/p.ts:4 phy-channel-pure-deps',
    'src/radio/x.ts:3 radio-below-gsc-and-sessions',
    'src/server/s.ts:3 server-below-cli',
    'src/server/s.ts:3 cli-is-top',
    'src/session/t.ts:1 session-below-server',
    'src/util/u.ts:1 util-is-bottom',
  ]);
  const line = formatViolation(violations.find((v) => v.file === 'src/radio/x.ts')!);
  assert.match(line, /^src\/radio\/x\.ts:3: imports '\.\.\/gsc\/y\.js' \(src\/gsc\/y\.ts\): breaks radio-below-gsc-and-sessions /);
  // the same planted files with the real exemptions: only cli's import of cli is fine
  const exempted = checkLayers(planted).violations.map((v) => `${v.file}:${v.line} ${v.rule.id}`);
  assert.deepEqual(exempted, got.filter((g) => g !== 'src/cli/c.ts:2 cli-is-top'));
});

test('exemptions are narrow: by file glob, rule and target', () => {
  const sources = new Map([
    ['src/radio/sigmf/cli.test.ts', "import { runSigmfCli } from '../../cli/sigmf.js';\nimport { runDemo } from '../../cli/demo.js';\n"],
    ['src/radio/sigmf/other.test.ts', "import { runSigmfCli } from '../../cli/sigmf.js';\n"],
    ['src/radio/phy/a.test.ts', "import { readFileSync } from 'node:fs';\nimport { x } from '../../gsc/x.js';\n"],
  ]);
  const got = checkLayers(sources).violations.map((v) => `${v.file}:${v.line} ${v.rule.id}`);
  assert.deepEqual(got, [
    'src/radio/phy/a.test.ts:2 phy-channel-pure-deps',
    'src/radio/phy/a.test.ts:2 radio-below-gsc-and-sessions',
    'src/radio/sigmf/cli.test.ts:2 radio-below-gsc-and-sessions',
    'src/radio/sigmf/cli.test.ts:2 cli-is-top',
    'src/radio/sigmf/other.test.ts:1 radio-below-gsc-and-sessions',
    'src/radio/sigmf/other.test.ts:1 cli-is-top',
  ]);
  assert.ok(globRegExp('src/radio/phy/**/*.test.ts').test('src/radio/phy/a.test.ts'));
  assert.ok(globRegExp('src/radio/phy/**/*.test.ts').test('src/radio/phy/deep/a.test.ts'));
  assert.ok(!globRegExp('src/radio/phy/**/*.test.ts').test('src/radio/phy/a.ts'));
  assert.ok(!globRegExp('src/radio/sigmf/cli.test.ts').test('src/radio/sigmf/cliXtest.ts'));
});

test('imports are read with their kind: value, type-only, re-export, dynamic, import type', () => {
  const refs = importsOf(
    'src/a/b.ts',
    [
      "import x, { type Y } from './x.js';",
      "import type { Z } from '../z.js';",
      "import { type P, type Q } from 'pkg';",
      "export * from './all.js';",
      "export type { T } from './t.js';",
      "import './side-effect.js';",
      "import fs = require('node:fs');",
      "const m = await import('./lazy.js');",
      "const n = await import(someVariable);",
      "type U = typeof import('./types.js');",
    ].join('\n'),
  );
  assert.deepEqual(
    refs.map((r) => [r.line, r.target.kind === 'file' ? r.target.path : r.target.name, r.typeOnly]),
    [
      [1, 'src/a/x.ts', false],
      [2, 'src/z.ts', true],
      [3, 'pkg', true],
      [4, 'src/a/all.ts', false],
      [5, 'src/a/t.ts', true],
      [6, 'src/a/side-effect.ts', false],
      [7, 'node:fs', false],
      [8, 'src/a/lazy.ts', false],
      [10, 'src/a/types.ts', true],
    ],
  );
});
