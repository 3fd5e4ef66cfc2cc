/**
 * Loading MODULE[:EXPORT] and deciding its style. Detection is deliberately
 * narrow: a function's shape cannot tell an iterator app from a CPS app or a
 * Fetch handler, so spindle only trusts what the author declared (a `style`
 * export, a `style` property on the app) or what cannot be anything else (an
 * object with a `fetch` method). Everything else asks for --style.
 */
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
export function resolveModulePath(module: string, cwd: string): string {
  if (module.startsWith('file:')) {
    try {
      return fileURLToPath(module);
    } catch (err) {
      throw new AppLoadError('ERR_CLI_MODULE_NOT_FOUND', `'${module}' is not a valid file: URL (${(err as Error).message})`, { cause: err });
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
  throw new AppLoadError('ERR_CLI_STYLE', `${where} is ${JSON.stringify(value)}; it must be one of ${STYLES.map((s) => `'${s}'`).join(', ')}`);
}

/**
 * Pick the style: --style if given (it must agree with what the module
 * declares), else the declaration, else an object with fetch() is a Fetch
 * handler, else an error asking for --style.
 */
export function chooseStyle(exported: unknown, moduleStyle: unknown, flag: Style | undefined, label: string): Style {
  const own = typeof exported === 'function' || (typeof exported === 'object' && exported !== null) ? (exported as { style?: unknown }).style : undefined;
  const declared = declaredStyle(`${label}.style`, own) ?? declaredStyle(`the module's 'style' export`, moduleStyle);
  if (flag !== undefined) {
    if (declared !== undefined && declared !== flag) {
      throw new AppLoadError('ERR_CLI_STYLE', `${label} declares style '${declared}' but --style ${flag} was given; drop --style or make them agree`);
    }
    return flag;
  }
  if (declared !== undefined) return declared;
  if (typeof exported === 'object' && exported !== null && typeof (exported as { fetch?: unknown }).fetch === 'function') return 'fetch';
  throw new AppLoadError(
    'ERR_CLI_STYLE',
    `cannot tell the style of ${label}: pass --style iter|cps|fetch, or declare it in the module with export const style = 'iter'`,
  );
}

/** Turn the chosen export into the function to serve, or say why it is not one. */
export function appFunction(exported: unknown, style: Style, label: string): (...args: never[]) => unknown {
  if (typeof exported === 'function') return exported as (...args: never[]) => unknown;
  if (style === 'fetch' && typeof exported === 'object' && exported !== null) {
    const fetch = (exported as { fetch?: unknown }).fetch;
    if (typeof fetch === 'function') return (fetch as (...args: never[]) => unknown).bind(exported);
  }
  const want = style === 'fetch' ? 'a function (Request) => Response or an object with fetch()' : `a function (the ${style} app)`;
  const hasFetch = typeof exported === 'object' && exported !== null && typeof (exported as { fetch?: unknown }).fetch === 'function';
  const hint = hasFetch ? "; it has a fetch() method: serve it with --style fetch" : '';
  throw new AppLoadError('ERR_CLI_NOT_AN_APP', `${label} is ${describe(exported)}, not ${want}${hint}`);
}

/** Import MODULE and return the app to serve with its style. */
/**
 * One line saying why `import(path)` failed. A message whose first line only
 * introduces the rest ("Transform failed with 1 error:", from tsx/esbuild) is
 * joined with the line that says what the error is.
 */
export function importFailureMessage(path: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const lines = String(e?.message ?? err).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  let what = lines[0] ?? String(err);
  if (what.endsWith(':') && lines[1] !== undefined) what = `${what} ${lines[1]}`;
  let hint = '';
  if (e?.code === 'ERR_UNKNOWN_FILE_EXTENSION') hint = "; to serve TypeScript, run through tsx: 'npx tsx src/cli.ts serve ...' or 'node --import tsx ...'";
  else if (/top-level await/i.test(what) && /"cjs"/.test(what)) {
    hint = `; the file is compiled as CommonJS because no package.json above it says "type": "module": rename it to .mts, or add that package.json`;
  }
  return `importing '${path}' failed: ${what}${hint}`;
}

export async function loadApp(options: { module: string; exportName: string | undefined; style: Style | undefined }, cwd = process.cwd()): Promise<LoadedApp> {
  const path = resolveModulePath(options.module, cwd);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new AppLoadError('ERR_CLI_MODULE_NOT_FOUND', `cannot find module '${path}' (from '${options.module}'); MODULE is a file path relative to ${cwd}, an absolute path, or a file: URL`);
  }
  const url = pathToFileURL(path).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new AppLoadError('ERR_CLI_IMPORT_FAILED', importFailureMessage(path, err), { cause: err });
  }
  let exportName = options.exportName;
  if (exportName === undefined) exportName = mod.default !== undefined ? 'default' : mod.app !== undefined ? 'app' : undefined;
  const names = Object.keys(mod).filter((k) => k !== 'style');
  if (exportName === undefined || !(exportName in mod) || mod[exportName] === undefined) {
    const wanted = exportName === undefined ? "neither a default export nor one named 'app'" : `no export named '${exportName}'`;
    throw new AppLoadError('ERR_CLI_EXPORT_NOT_FOUND', `'${path}' has ${wanted}; its exports: ${names.length > 0 ? names.join(', ') : '(none)'}; name one as MODULE:EXPORT`);
  }
  const label = `${options.module}:${exportName}`;
  const exported = mod[exportName];
  const style = chooseStyle(exported, mod.style, options.style, label);
  return { app: appFunction(exported, style, label), style, path, url, exportName };
}
