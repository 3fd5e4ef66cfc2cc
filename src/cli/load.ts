/**
 * Loading MODULE[:EXPORT] and deciding its style. Detection is deliberately
 * narrow: a function's shape cannot tell an iterator app from a CPS app or a
 * Fetch handler, so spindle only trusts what the author declared (a `style`
 * export, a `style` property on the app) or what cannot be anything else (an
 * object with a `fetch` method). Everything else asks for --style.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppLoadError } from './errors.js';
import { STYLES, type Style } from './args.js';

export interface LoadedApp {
  /** The function to serve (a Fetch handler object's `fetch`, bound). */
  app: (...args: never[]) => unknown;
  style: Style;
  /** Absolute path and file: URL of the module (threadedIterApp needs the URL). */
  path: string;
  url: string;
  /** The export that was used. */
  exportName: string;
}

/** Resolve MODULE to an absolute path; a file: URL is accepted as is. */
function resolveModulePath(module: string, cwd: string): string {
  if (module.startsWith('file:')) {
    try {
      return fileURLToPath(module);
    } catch (err) {
      throw new AppLoadError(
        'ERR_CLI_MODULE_NOT_FOUND',
        `'${module}' is not a valid file: URL (${(err as Error).message})`,
        { cause: err },
      );
    }
  }
  return isAbsolute(module) ? module : resolve(cwd, module);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function declaredStyle(where: string, value: unknown): Style | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (STYLES as readonly string[]).includes(value)) return value as Style;
  throw new AppLoadError(
    'ERR_CLI_STYLE',
    `${where} is ${JSON.stringify(value)}; it must be one of ${STYLES.map((s) => `'${s}'`).join(', ')}`,
  );
}

/** What a module declares about styles: `export const style` (every export) and `export const styles` (one entry per export). */
export interface ModuleStyles {
  style?: unknown;
  styles?: unknown;
}

/**
 * Pick the style: --style if given (it must agree with what the module
 * declares), else the declaration, else an object with fetch() is a Fetch
 * handler, else an error asking for --style. A declaration for one export (a
 * `style` property on it, or its entry in `export const styles = { name:
 * 'cps' }`) wins over the module-wide `export const style`.
 */
export function chooseStyle(
  exported: unknown,
  moduleStyles: ModuleStyles,
  flag: Style | undefined,
  label: string,
  exportName = 'app',
): Style {
  const own =
    typeof exported === 'function' || (typeof exported === 'object' && exported !== null)
      ? (exported as { style?: unknown }).style
      : undefined;
  const table = moduleStyles.styles;
  if (table !== undefined && (table === null || typeof table !== 'object' || Array.isArray(table))) {
    throw new AppLoadError(
      'ERR_CLI_STYLE',
      `the module's 'styles' export is ${describe(table)}; it must map export names to styles, e.g. export const styles = { ${exportName}: 'cps' }`,
    );
  }
  const entry = table === undefined ? undefined : (table as Record<string, unknown>)[exportName];
  const ownDeclared =
    declaredStyle(`${label}.style`, own) ?? declaredStyle(`styles.${exportName} in the module`, entry);
  const moduleDeclared = declaredStyle(`the module's 'style' export`, moduleStyles.style);
  const declared = ownDeclared ?? moduleDeclared;
  if (flag !== undefined) {
    if (declared !== undefined && declared !== flag) {
      const fix =
        ownDeclared === undefined
          ? `the module's 'export const style' covers all its exports: drop --style, or mark this export alone with export const styles = { ${exportName}: '${flag}' } (or ${exportName}.style = '${flag}')`
          : 'drop --style or make them agree';
      throw new AppLoadError(
        'ERR_CLI_STYLE',
        `${label} declares style '${declared}' but --style ${flag} was given; ${fix}`,
      );
    }
    return flag;
  }
  if (declared !== undefined) return declared;
  if (
    typeof exported === 'object' &&
    exported !== null &&
    typeof (exported as { fetch?: unknown }).fetch === 'function'
  )
    return 'fetch';
  throw new AppLoadError(
    'ERR_CLI_STYLE',
    `cannot tell the style of ${label}: pass --style iter|cps|fetch, or declare it in the module with export const style = 'iter' (every export) or export const styles = { ${exportName}: 'iter' } (one export)`,
  );
}

/** Turn the chosen export into the function to serve, or say why it is not one. */
function appFunction(exported: unknown, style: Style, label: string): (...args: never[]) => unknown {
  if (typeof exported === 'function') return exported as (...args: never[]) => unknown;
  if (style === 'fetch' && typeof exported === 'object' && exported !== null) {
    const fetch = (exported as { fetch?: unknown }).fetch;
    if (typeof fetch === 'function') return (fetch as (...args: never[]) => unknown).bind(exported);
  }
  const want =
    style === 'fetch' ? 'a function (Request) => Response or an object with fetch()' : `a function (the ${style} app)`;
  const hasFetch =
    typeof exported === 'object' && exported !== null && typeof (exported as { fetch?: unknown }).fetch === 'function';
  const hint = hasFetch ? '; it has a fetch() method: serve it with --style fetch' : '';
  throw new AppLoadError('ERR_CLI_NOT_AN_APP', `${label} is ${describe(exported)}, not ${want}${hint}`);
}

/** How to run spindle under tsx, from a checkout or from the installed package. */
export const TSX_COMMAND =
  "'node --import tsx node_modules/.bin/spindle serve app.ts' (installed), 'node --import tsx src/cli.ts serve app.ts' (a checkout)";

/**
 * Where a SyntaxError from `import()` is. Node's message names no file or line
 * (it prints them only for an uncaught error), so for a JavaScript file ask
 * `node --check`, which prints `FILE:LINE`, the line and a caret. Runs only
 * on this failure path. '' when the file itself parses (the error came from
 * a module it imports, or from code that ran).
 */
function syntaxErrorWhere(path: string): string {
  if (!/\.[cm]?js$/.test(path)) return '';
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0 || typeof r.stderr !== 'string') return '';
  const lines = r.stderr.split('\n');
  const at = /^(.+):(\d+)$/.exec(lines[0] ?? '');
  if (at === null) return '';
  const caret = (lines[2] ?? '').indexOf('^');
  return ` at ${at[1]}:${at[2]}${caret >= 0 ? `:${caret + 1}` : ''}`;
}

/**
 * One line saying why `import(path)` failed. A message whose first line only
 * introduces the rest ("Transform failed with 1 error:", from tsx/esbuild) is
 * joined with the line that says what the error is.
 */
export function importFailureMessage(path: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const lines = String(e?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let what = lines[0] ?? String(err);
  if (what.endsWith(':') && lines[1] !== undefined) what = `${what} ${lines[1]}`;
  let hint = '';
  if ((err as { name?: string } | null)?.name === 'SyntaxError' && !what.includes(path)) hint = syntaxErrorWhere(path);
  if (e?.code === 'ERR_UNKNOWN_FILE_EXTENSION') hint = `; to serve TypeScript, run spindle under tsx: ${TSX_COMMAND}`;
  else if (/top-level await/i.test(what) && /"cjs"/.test(what)) {
    hint = `; the file is compiled as CommonJS because no package.json above it says "type": "module": rename it to .mts, or add that package.json`;
  }
  return `importing '${path}' failed: ${what}${hint}`;
}

/** Import MODULE and return the app to serve with its style. */
export async function loadApp(
  options: { module: string; exportName: string | undefined; style: Style | undefined },
  cwd = process.cwd(),
): Promise<LoadedApp> {
  const path = resolveModulePath(options.module, cwd);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new AppLoadError(
      'ERR_CLI_MODULE_NOT_FOUND',
      `cannot find module '${path}' (from '${options.module}'); MODULE is a file path relative to ${cwd}, an absolute path, or a file: URL`,
    );
  }
  const url = pathToFileURL(path).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new AppLoadError('ERR_CLI_IMPORT_FAILED', importFailureMessage(path, err), { cause: err });
  }
  let exportName = options.exportName;
  if (exportName === undefined)
    exportName = mod.default !== undefined ? 'default' : mod.app !== undefined ? 'app' : undefined;
  const names = Object.keys(mod).filter((k) => k !== 'style' && k !== 'styles');
  if (exportName === undefined || !(exportName in mod) || mod[exportName] === undefined) {
    const wanted =
      exportName === undefined ? "neither a default export nor one named 'app'" : `no export named '${exportName}'`;
    throw new AppLoadError(
      'ERR_CLI_EXPORT_NOT_FOUND',
      `'${path}' has ${wanted}; its exports: ${names.length > 0 ? names.join(', ') : '(none)'}; name one as MODULE:EXPORT`,
    );
  }
  const label = `${options.module}:${exportName}`;
  const exported = mod[exportName];
  const style = chooseStyle(exported, { style: mod.style, styles: mod.styles }, options.style, label, exportName);
  return { app: appFunction(exported, style, label), style, path, url, exportName };
}
