/**
 * Text contrast (issue 16 item 12): every fg/bg pair that app/renderer/style.css names (`@pair NAME: --fg on
 * --bg`) must reach WCAG 2's 4.5:1 for text, computed from the colours the stylesheet defines in :root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/renderer -> the repository (the stylesheet is not compiled, it is read where it is written)
const CSS = join(resolve(here, '..', '..', '..'), 'app', 'renderer', 'style.css');

/** WCAG 2 relative luminance of #rgb or #rrggbb. */
export function luminance(hex: string): number {
  let h = hex.replace(/^#/, '');
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  assert.match(h, /^[0-9a-fA-F]{6}$/, `not a colour: ${hex}`);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio, 1..21. */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

test('the contrast function matches WCAG reference values', () => {
  assert.equal(contrast('#000', '#fff'), 21);
  assert.equal(contrast('#fff', '#fff'), 1);
  assert.ok(Math.abs(contrast('#767676', '#fff') - 4.54) < 0.01); // the lightest grey that passes on white
  assert.ok(Math.abs(contrast('#777777', '#ffffff') - 4.48) < 0.01);
});

test('every named text/background pair in style.css has a contrast of at least 4.5:1', () => {
  const css = readFileSync(CSS, 'utf8');
  const root = /:root\s*\{([^}]*)\}/.exec(css)?.[1] ?? '';
  const vars = new Map([...root.matchAll(/(--[a-z0-9-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\b/g)].map((m) => [m[1]!, m[2]!]));
  const pairs = [...css.matchAll(/@pair\s+([a-z0-9-]+):\s*(--[a-z0-9-]+)\s+on\s+(--[a-z0-9-]+)/g)].map((m) => ({ name: m[1]!, fg: m[2]!, bg: m[3]! }));
  assert.ok(pairs.length >= 15, `style.css names ${pairs.length} pairs`);
  for (const name of ['badge', 'badge-on', 'badge-bad', 'recording-badge', 'text', 'hint', 'error', 'confirmation']) {
    assert.ok(pairs.some((p) => p.name === name), `style.css names the pair '${name}'`);
  }
  const failing: string[] = [];
  for (const p of pairs) {
    const fg = vars.get(p.fg);
    const bg = vars.get(p.bg);
    assert.ok(fg && bg, `pair ${p.name}: ${p.fg} and ${p.bg} are defined in :root`);
    const ratio = contrast(fg, bg);
    if (ratio < 4.5) failing.push(`${p.name}: ${p.fg} ${fg} on ${p.bg} ${bg} is ${ratio.toFixed(2)}:1`);
  }
  assert.deepEqual(failing, [], 'pairs under 4.5:1');
  // the colours the pairs name are the ones the rules use: no text colour in a rule outside :root is a literal
  const rules = css.replace(/:root\s*\{[^}]*\}/, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const literalText = [...rules.matchAll(/(?:^|[;{\s])color\s*:\s*(#[0-9a-fA-F]{3,6})/g)].map((m) => m[1]);
  assert.deepEqual(literalText, [], 'text colours come from the named variables');
});
