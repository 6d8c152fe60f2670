/**
 * A stand-alone entry for the session commands (`node dist/src/session/entry.js cloud|edge|user|demo ...`),
 * used by the process-level tests until src/cli/main.ts dispatches them; errors print like main.ts does.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DekagError } from '../gsc/errors.js';
import { runDemo } from '../cli/demo.js';
import { runCloud, runEdge, runUser } from '../cli/roles.js';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { cloud: runCloud, edge: runEdge, user: runUser, demo: runDemo };

export async function runSessionCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const run = command ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`usage: entry.js ${Object.keys(COMMANDS).join('|')} ...\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof DekagError) {
      process.stderr.write(`dekag ${command}: ${e.message}\n`);
      return e.code === 'E_USAGE' || e.code === 'E_PROMPT' ? 2 : 1;
    }
    throw e;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runSessionCommand(process.argv.slice(2));
}
