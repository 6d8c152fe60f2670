/**
 * The renderer's files, found the same way by browser mode and by Electron's app:// protocol, and the one
 * Content-Security-Policy both send.
 *
 * Sources: HTML and CSS come from app/renderer/ in the package; the compiled scripts from
 * <build>/app/renderer/ (tsc -p app/renderer/tsconfig.json); chart.js from node_modules. Only the names
 * listed here are served: nothing else on disk can be reached through a URL.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The strict policy: only our own scripts and styles, images from ourselves or data: URLs (the session's
 * PNGs), connections only back to the engine. No inline script, no eval, no frames, no plugins, no forms.
 * `connect` adds the WebSocket origin in browser mode.
 */
export function contentSecurityPolicy(connect: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${connect.map((c) => ' ' + c).join('')}`,
    "font-src 'none'",
    "object-src 'none'",
    "media-src 'none'",
    "frame-src 'none'",
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface RendererFiles {
  /** URL path (no leading slash) -> absolute file path. */
  files: Map<string, string>;
}

/** The package root: the folder above src/ (or above dist-x/src/ when running compiled code). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'app', 'renderer'))) return dir;
    dir = dirname(dir);
  }
  return resolve('.');
}

/** The build folder holding this module (dist/ or dist-app/): compiled renderer scripts live next to it. */
export function buildRoot(): string {
  // this file is <build>/src/server/static.js
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function rendererFiles(root = packageRoot(), build = buildRoot()): RendererFiles {
  const files = new Map<string, string>();
  const src = join(root, 'app', 'renderer');
  for (const name of ['index.html', 'style.css']) files.set(name, join(src, name));
  const out = join(build, 'app', 'renderer');
  if (existsSync(out)) {
    for (const name of readdirSync(out)) if (name.endsWith('.js') && !name.endsWith('.test.js')) files.set(name, join(out, name));
  }
  const chart = join(root, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js');
  files.set('vendor/chart.umd.min.js', chart);
  return { files };
}
