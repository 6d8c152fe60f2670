/**
 * `node <build>/src/server/serve-cli.js [options]`: browser mode on its own, for the end-to-end tests and
 * for running before `dekag serve` is wired into src/cli/main.ts. Same options as `dekag serve`.
 */
import { DekagError } from '../gsc/errors.js';
import { runServe, SERVE_HELP } from './serve.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(SERVE_HELP + '\n');
} else {
  try {
    process.exitCode = await runServe(argv);
  } catch (e) {
    if (!(e instanceof DekagError)) throw e;
    process.stderr.write(`dekag serve: ${e.message}\n`);
    process.exitCode = e.code === 'E_USAGE' ? 2 : 1;
  }
}
