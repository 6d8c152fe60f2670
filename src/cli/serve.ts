/** `dekag serve`: the command line of browser mode (the server itself: src/server/serve.ts). */
import { isLoopbackHost, runServe } from '../server/serve.js';
import { optionalInt, parse } from './options.js';

export { SERVE_HELP } from './help.js';

/** `dekag serve`: runs until interrupted (SIGINT/SIGTERM), then stops the session and closes the radio. */
export async function runServeCli(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    models: { type: 'string' },
    recordings: { type: 'string' },
    adapters: { type: 'string' },
    provider: { type: 'string' },
    'new-token': { type: 'boolean' },
  });
  const port = optionalInt(values, 'port', 8620, 0, 65535);
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  if (!isLoopbackHost(host)) process.stderr.write(`dekag serve: warning: listening on ${host}, not only this machine; anyone who gets the URL controls the radio\n`);
  await runServe({
    host,
    port,
    modelsDir: values['models'] as string | undefined,
    recordingsDir: values['recordings'] as string | undefined,
    userAdaptersDir: values['adapters'] as string | undefined,
    provider: values['provider'] as string | undefined,
    newToken: values['new-token'] === true,
    onListening: (running, token) => {
      process.stdout.write(
        `DeKA-g testbed in your browser: ${running.url}\n` +
          `(the link holds the access token, ${token.created ? 'new, kept' : 'kept'} in ${token.path}: a restarted server answers the same link;\n` +
          ` 'dekag serve --new-token' makes a new one and locks out old links. Ctrl-C stops the server)\n`,
      );
    },
  });
  return 0;
}
