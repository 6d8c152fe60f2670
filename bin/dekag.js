#!/usr/bin/env node
// The `dekag` command: runs the compiled CLI (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('dekag: the TypeScript is not built yet; run `npm run build` (npm ci does it for you)');
  process.exit(1);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
