/**
 * The `dekag` command: looks the command up in the table (commands.ts), imports only what it needs, and
 * turns typed errors into one line on stderr and an exit code.
 */
import { DekagError } from '../util/errors.js';
import { EXIT, PEER_ERROR_CODES } from './exit.js';
import { COMMANDS, findCommand, helpOf, type Command } from './commands.js';

const WIDTH = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;

export const HELP = `dekag: DeKA-g generative semantic communication testbed

Usage: dekag <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(WIDTH)}${c.summary}`).join('\n')}

'dekag COMMAND --help' (or 'dekag help COMMAND') prints a command's options.
`;

const isHelpFlag = (a: string | undefined): boolean => a === '--help' || a === '-h';

function listSubcommands(path: string, command: Command): string {
  const subs = command.subcommands ?? [];
  const width = Math.max(...subs.map((s) => s.name.length)) + 2;
  return `dekag ${path}: choose one of\n${subs.map((s) => `  ${s.name.padEnd(width)}${s.summary}`).join('\n')}\n`;
}

/** `dekag help [CMD [SUB]]` */
async function printHelp(words: string[]): Promise<number> {
  const [name, sub] = words;
  if (name === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const command = findCommand(COMMANDS, name);
  if (!command) {
    process.stderr.write(`dekag help: unknown command '${name}'; try 'dekag --help'\n`);
    return EXIT.USAGE;
  }
  const subcommand = sub !== undefined && command.subcommands ? findCommand(command.subcommands, sub) : undefined;
  if (sub !== undefined && !subcommand) {
    process.stderr.write(`dekag help: '${name}' has no subcommand '${sub}'\n`);
    return EXIT.USAGE;
  }
  process.stdout.write((subcommand ? await helpOf(subcommand, command) : await helpOf(command)) + '\n');
  return 0;
}

export async function runCli(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined || isHelpFlag(word)) {
    process.stdout.write(HELP);
    return word === undefined ? EXIT.USAGE : 0;
  }
  if (word === 'help') return printHelp(rest);
  const command = findCommand(COMMANDS, word);
  if (!command) {
    process.stderr.write(`dekag: unknown command '${word}'; try 'dekag --help'\n`);
    return EXIT.USAGE;
  }
  const wantsHelp = rest.some(isHelpFlag);
  let target = command;
  let args = rest;
  let path = word;
  if (command.subcommands) {
    const [subword, ...subrest] = rest;
    const sub = subword === undefined ? undefined : findCommand(command.subcommands, subword);
    if (!sub) {
      if (wantsHelp || subword === 'help') return printHelp([word]);
      if (subword === undefined) {
        process.stderr.write(listSubcommands(word, command));
        return EXIT.USAGE;
      }
      const names = command.subcommands.map((s) => s.name).join(', ');
      process.stderr.write(`dekag ${word}: unknown subcommand '${subword}'; use ${names} ('dekag ${word} --help')\n`);
      return EXIT.USAGE;
    }
    if (wantsHelp) return printHelp([word, sub.name]);
    [target, args, path] = [sub, subrest, `${word} ${sub.name}`];
  } else if (wantsHelp) {
    return printHelp([word]);
  }
  try {
    const run = await target.load!();
    return await run(args);
  } catch (e) {
    if (e instanceof DekagError) {
      process.stderr.write(`dekag ${path}: ${e.message}\n`);
      return e.code === 'E_USAGE' || e.code === 'E_PROMPT' ? EXIT.USAGE : PEER_ERROR_CODES.includes(e.code) ? EXIT.PEER : EXIT.ERROR;
    }
    throw e;
  }
}
