/**
 * electron-builder.yml against electron-builder's own JSON schema (app-builder-lib/scheme.json), and the
 * files it names: the udev rules cover HackRF, RTL-SDR and Pluto, and the main entry is where
 * app/tsconfig.json compiles it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const schemaPath = join(root, 'node_modules', 'app-builder-lib', 'scheme.json');

async function loadYaml(): Promise<((text: string) => unknown) | undefined> {
  try {
    // js-yaml comes with electron-builder (a devDependency); without it the schema check is skipped
    const m = (await import('js-yaml' as string)) as { load: (text: string) => unknown };
    return m.load;
  } catch {
    return undefined;
  }
}

test('electron-builder.yml is valid and names files that exist', async (t) => {
  const load = await loadYaml();
  if (!load || !existsSync(schemaPath)) {
    t.skip('electron-builder (app-builder-lib, js-yaml) is not installed');
    return;
  }
  const cfg = load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, any>;
  const Ajv = AjvModule.default; // CommonJS default export seen from an ES module
  const ajv = new Ajv({ allErrors: true, strict: false });
  const ok = ajv.validate(JSON.parse(readFileSync(schemaPath, 'utf8')), cfg);
  assert.ok(ok, JSON.stringify(ajv.errors));
  assert.deepEqual(cfg['linux'].target, ['AppImage', 'deb']);
  assert.deepEqual(cfg['mac'].target, ['dmg']);
  assert.deepEqual(cfg['win'].target, ['nsis']);
  assert.ok(existsSync(join(root, cfg['deb'].afterInstall)));
  // the main entry: app/tsconfig.json compiles app/main/main.ts to <outDir>/app/main/main.js with outDir ../dist
  const appTsconfig = readFileSync(join(root, 'app', 'tsconfig.json'), 'utf8');
  assert.match(appTsconfig, /"outDir": "\.\.\/dist"/);
  assert.equal(cfg['extraMetadata'].main, 'dist/app/main/main.js');
  assert.equal(cfg['electronFuses'].runAsNode, false);
});

test('the udev rules installed by the deb cover HackRF, RTL-SDR and Pluto', () => {
  const rules = readFileSync(join(root, 'native', 'udev', '53-dekag-sdr.rules'), 'utf8');
  for (const [vid, pid] of [['1d50', '6089'], ['0bda', '2838'], ['0bda', '2832'], ['0456', 'b673']]) {
    assert.match(rules, new RegExp(`ATTR\\{idVendor\\}=="${vid}", ATTR\\{idProduct\\}=="${pid}"[^\\n]*GROUP="plugdev"`), `${vid}:${pid}`);
  }
  const postinst = readFileSync(join(root, 'native', 'udev', 'postinst.sh'), 'utf8');
  assert.match(postinst, /resources\/udev\/53-dekag-sdr\.rules/);
});
