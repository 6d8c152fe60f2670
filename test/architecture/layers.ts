/**
 * The layering of the TypeScript sources as data, and a checker for it (docs/architecture.md, "Layering").
 * `layers.test.ts` runs the checker over every .ts file under src/ and app/ and fails, naming file, line
 * and rule, on an import that goes the wrong way; like VS Code's `code-layering` lint rules, the rules are
 * one table, so a new edge is either allowed here on purpose or refused by the build's tests.
 *
 * Imports are read with the TypeScript parser (not regular expressions, so comments and strings that
 * merely contain `import` do not count): `import ... from`, `export ... from`, `import x = require()`,
 * `import('...')` with a literal specifier, and `import('...')` types. Relative specifiers resolve to the
 * .ts source (NodeNext: `./x.js` is `./x.ts`). Non-literal dynamic imports (the driver registry's
 * `import(m)` of its own `./hackrf.js` etc.) cannot be resolved and are not checked.
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

/** What an import names: a file of this repository (path from the root) or a package / Node builtin. */
export type Target = { kind: 'file'; path: string } | { kind: 'package'; name: string };

export interface ImportRef {
  line: number;
  specifier: string;
  /** `import type`, `export type`, every named binding `type`, or an `import('x')` type: gone after tsc. */
  typeOnly: boolean;
  target: Target;
}

/** A set of import targets, with a name for messages. */
export interface Matcher {
  label: string;
  matches: (t: Target) => boolean;
}

/** Repository files under one of these folders (`'src/gsc/'`) or equal to one of these files. */
export function files(...prefixes: string[]): Matcher {
  return {
    label: prefixes.join(', '),
    matches: (t) => t.kind === 'file' && prefixes.some((p) => (p.endsWith('/') ? t.path.startsWith(p) : t.path === p)),
  };
}

/** A package by name (its subpaths too: `electron/main`). */
export function pkg(name: string): Matcher {
  return { label: `'${name}'`, matches: (t) => t.kind === 'package' && (t.name === name || t.name.startsWith(`${name}/`)) };
}

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));

/** The bare name of a Node builtin (`node:fs/promises` and `fs/promises` give `fs/promises`), or undefined. */
export function builtinName(specifier: string): string | undefined {
  const bare = specifier.replace(/^node:/, '');
  return specifier.startsWith('node:') || BUILTINS.has(bare) ? bare : undefined;
}

/** Every Node builtin, with or without `node:`. */
export const NODE_BUILTINS: Matcher = {
  label: 'Node builtins',
  matches: (t) => t.kind === 'package' && builtinName(t.name) !== undefined,
};

/** The builtins that reach outside the computation: files, sockets, processes, terminals, threads, the machine. */
const IO = ['fs', 'net', 'tls', 'dgram', 'dns', 'http', 'https', 'http2', 'child_process', 'cluster', 'worker_threads', 'readline', 'tty', 'repl', 'inspector', 'os'];
export const NODE_IO: Matcher = {
  label: `Node I/O builtins (${IO.join(', ')})`,
  matches: (t) => {
    const name = t.kind === 'package' ? builtinName(t.name) : undefined;
    return name !== undefined && IO.includes(name.split('/')[0]!);
  },
};

export interface LayerRule {
  /** Printed in failures; names the rule in this table. */
  id: string;
  /** Importers: repository paths starting with one of these. */
  importers: string[];
  /** Imports these must not name. */
  never?: Matcher[];
  /** Repository files these may import: any other file of the repository is refused (packages are not affected). */
  onlyFiles?: string[];
  /** Type-only imports (erased by tsc) are allowed even where the rule refuses the target. */
  typeOnlyOk?: boolean;
  why: string;
}

/**
 * The layers, bottom up: util; radio (phy and channel at its pure bottom) and gsc side by side, neither
 * knowing the other (but for one exemption below); session (roles put the two together); server (browser
 * mode, the engine API); cli on top. app/main may use any of src; app/renderer only the engine API's types.
 */
export const RULES: LayerRule[] = [
  {
    id: 'src-no-electron',
    importers: ['src/'],
    never: [pkg('electron')],
    why: 'the engine is a plain library: the CLI and browser mode run it without Electron',
  },
  {
    id: 'src-not-app-or-test',
    importers: ['src/'],
    onlyFiles: ['src/'],
    why: 'the engine stands alone: the app and the process-level tests use it, never the other way round',
  },
  {
    id: 'renderer-no-node',
    importers: ['app/renderer/'],
    never: [NODE_BUILTINS],
    why: 'the renderer is a sandboxed web page (contextIsolation, no nodeIntegration); it also runs in a plain browser',
  },
  {
    id: 'renderer-types-only-from-src',
    importers: ['app/renderer/'],
    onlyFiles: ['app/renderer/'],
    typeOnlyOk: true,
    why: 'the engine never runs in the renderer: it talks to it through the engine API (src/server/api.ts), whose types it may import',
  },
  {
    id: 'util-is-bottom',
    importers: ['src/util/'],
    onlyFiles: ['src/util/'],
    why: 'util (the seeded RNG, the typed errors) is shared by every layer, so it depends on none',
  },
  {
    id: 'phy-channel-no-io',
    importers: ['src/radio/phy/', 'src/radio/channel/', 'src/radio/iq/'],
    never: [NODE_IO],
    why: 'the modem, the channel simulator and the IQ sample formats are pure (typed arrays in, typed arrays out): testable, benchable and usable in a browser or worker; files, sockets and processes belong to devices, sigmf and cli',
  },
  {
    id: 'phy-channel-pure-deps',
    importers: ['src/radio/phy/', 'src/radio/channel/', 'src/radio/iq/'],
    onlyFiles: ['src/util/', 'src/radio/phy/', 'src/radio/channel/', 'src/radio/iq/'],
    why: 'what the pure modem and channel build on must be pure too: util, each other and the IQ sample formats (src/radio/iq/), no devices or recordings',
  },
  {
    id: 'radio-below-gsc-and-sessions',
    importers: ['src/radio/'],
    onlyFiles: ['src/util/', 'src/radio/'],
    why: 'radios, recordings and the modem know nothing of generative models, sessions, the server or the CLI',
  },
  {
    id: 'gsc-only-util',
    importers: ['src/gsc/'],
    onlyFiles: ['src/util/', 'src/gsc/'],
    why: 'the generative side (models, sampler, JSCC codec) is independent of radios and sessions',
  },
  {
    id: 'session-below-server',
    importers: ['src/session/'],
    onlyFiles: ['src/util/', 'src/gsc/', 'src/radio/', 'src/session/'],
    why: 'roles, links and the session record serve the CLI, browser mode and the app alike',
  },
  {
    id: 'server-below-cli',
    importers: ['src/server/'],
    onlyFiles: ['src/util/', 'src/gsc/', 'src/radio/', 'src/session/', 'src/server/'],
    why: 'the engine API and browser mode are used by the app too; command-line parsing stays in cli',
  },
  {
    id: 'cli-is-top',
    importers: ['src/'],
    never: [files('src/cli/')],
    why: 'cli is the top layer: argument parsing, printing and exit codes; nothing in the engine depends on it',
  },
];

/** Files a rule does not apply to, each with the reason. Keep this short: prefer fixing the import. */
export interface Exemption {
  /** Files, as globs over repository paths (`*` within a folder, `**` across folders). */
  files: string[];
  rule: string;
  /** Only imports of these targets are exempt (repository paths or package names); all of the rule's when absent. */
  targets?: string[];
  why: string;
}

/** Files a rule does not apply to, each with the reason. Keep this short: prefer fixing the import. */
export const EXEMPTIONS: Exemption[] = [
  {
    files: ['src/cli/**'],
    rule: 'cli-is-top',
    why: 'cli is one layer; its modules import each other (args.ts, progress.ts, bench-common.ts)',
  },
  {
    files: ['src/radio/phy/**/*.test.ts', 'src/radio/channel/**/*.test.ts'],
    rule: 'phy-channel-no-io',
    why: 'tests are not the modem: they may read fixtures and checked-in generated files (coding.test.ts compares viterbi-acs.ts with its generator)',
  },
  {
    files: ['src/radio/sigmf/cli.test.ts'],
    rule: 'radio-below-gsc-and-sessions',
    targets: ['src/cli/sigmf.ts'],
    why: '`dekag sigmf` is tested next to the SigMF code it drives; it belongs in src/cli/ (move it when the SigMF tests are not being rewritten)',
  },
  {
    files: ['src/radio/sigmf/cli.test.ts'],
    rule: 'cli-is-top',
    targets: ['src/cli/sigmf.ts'],
    why: 'the same test: a test of a cli module may import it',
  },
];

/** A glob over repository paths as a regular expression: `**` any folders, `*` within one name. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function exempts(e: Exemption, file: string, target: Target): boolean {
  if (!e.files.some((g) => globRegExp(g).test(file))) return false;
  return e.targets === undefined || e.targets.includes(target.kind === 'file' ? target.path : target.name);
}

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  target: Target;
  rule: LayerRule;
}

function under(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

/** Resolves a specifier written in `importer` (a repository path) as tsc with NodeNext would find the source. */
export function resolveSpecifier(importer: string, specifier: string): Target {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return { kind: 'package', name: specifier };
  let path = posix.normalize(posix.join(posix.dirname(importer), specifier));
  path = path.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts');
  if (!/\.[cm]?tsx?$/.test(path) && !/\.json$/.test(path)) path += '.ts';
  return { kind: 'file', path };
}

function literal(node: ts.Node | undefined): ts.StringLiteralLike | undefined {
  return node && ts.isStringLiteralLike(node) ? node : undefined;
}

/** Every import of a TypeScript source, with its line and whether it is erased by tsc. */
export function importsOf(path: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (spec: ts.StringLiteralLike, typeOnly: boolean) => {
    const line = sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1;
    out.push({ line, specifier: spec.text, typeOnly, target: resolveSpecifier(path, spec.text) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const spec = literal(node.moduleSpecifier);
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)));
      if (spec) add(spec, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      const spec = literal(node.moduleSpecifier);
      const clause = node.exportClause;
      const typeOnly = node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
      if (spec) add(spec, typeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const spec = literal(node.moduleReference.expression);
      if (spec) add(spec, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const spec = literal(node.arguments[0]);
      if (spec) add(spec, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const spec = literal(node.argument.literal);
      if (spec) add(spec, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Whether `ref` breaks `rule`. */
function breaks(rule: LayerRule, ref: ImportRef): boolean {
  if (rule.typeOnlyOk && ref.typeOnly) return false;
  if (rule.never?.some((m) => m.matches(ref.target))) return true;
  return rule.onlyFiles !== undefined && ref.target.kind === 'file' && !under(ref.target.path, rule.onlyFiles);
}

/**
 * Checks sources (repository path -> text) against the rules; returns the violations, in path and line order.
 * Exemptions that matched nothing are returned too, so a stale one is noticed and removed.
 */
export function checkLayers(
  sources: ReadonlyMap<string, string>,
  rules: readonly LayerRule[] = RULES,
  exemptions: readonly Exemption[] = EXEMPTIONS,
): { violations: Violation[]; unusedExemptions: Exemption[] } {
  const violations: Violation[] = [];
  const used = new Set<Exemption>();
  for (const file of [...sources.keys()].sort()) {
    const refs = importsOf(file, sources.get(file)!);
    for (const rule of rules) {
      if (!under(file, rule.importers)) continue;
      for (const ref of refs) {
        if (!breaks(rule, ref)) continue;
        const exemption = exemptions.find((e) => e.rule === rule.id && exempts(e, file, ref.target));
        if (exemption) {
          used.add(exemption);
          continue;
        }
        violations.push({ file, line: ref.line, specifier: ref.specifier, target: ref.target, rule });
      }
    }
  }
  violations.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { violations, unusedExemptions: exemptions.filter((e) => !used.has(e)) };
}

/** One line per violation: `file:line: imports 'x' (target): rule id: what the rule allows; why`. */
export function formatViolation(v: Violation): string {
  const target = v.target.kind === 'file' ? v.target.path : v.target.name;
  const allowed = [
    v.rule.never ? `never ${v.rule.never.map((m) => m.label).join('; ')}` : '',
    v.rule.onlyFiles ? `only files under ${v.rule.onlyFiles.join(', ')}${v.rule.typeOnlyOk ? ' (other files: import type only)' : ''}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return `${v.file}:${v.line}: imports '${v.specifier}' (${target}): breaks ${v.rule.id} (${v.rule.importers.join(', ')} import ${allowed}): ${v.rule.why}`;
}
