/**
 * Loading MODULE[:EXPORT] and choosing its style, against real modules written
 * to a temporary directory: what is found, what is refused, and the message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppLoadError, EXIT_APP } from '../src/cli/errors.js';
import { chooseStyle, loadApp } from '../src/cli/load.js';

let dir: string;
const modules: Record<string, string> = {
  'iter.mjs':
    "export const style = 'iter';\nexport default function app(environ, startResponse) { startResponse('200 OK', []); return ['x']; }\n",
  'named.mjs': 'export function app(request) { request.finish(); }\nexport function other() {}\n',
  'fetchobj.mjs': "export default { fetch(request) { return new Response('hi ' + this.name); }, name: 'obj' };\n",
  'marked.mjs': "function app(request) { request.finish(); }\napp.style = 'cps';\nexport { app };\n",
  'badstyle.mjs': "export const style = 'wsgi';\nexport default () => [];\n",
  'noapp.mjs': 'export const answer = 42;\n',
  'mixed.mjs':
    "export const style = 'iter';\nexport const styles = { admin: 'cps' };\nexport function app() { return []; }\nexport function admin(request) { request.finish(); }\n" +
    "export const marked = Object.assign(() => new Response('x'), { style: 'fetch' });\n",
  'badtable.mjs': "export const styles = 'cps';\nexport function app() {}\n",
  'throws.mjs': "throw new Error('boom at import');\n",
  'notfn.mjs': 'export default 42;\n',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-load-'));
  for (const [name, text] of Object.entries(modules)) writeFileSync(join(dir, name), text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadError(options: Parameters<typeof loadApp>[0]): Promise<AppLoadError> {
  const err = await loadApp(options, dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppLoadError);
  expect((err as AppLoadError).exitCode).toBe(EXIT_APP);
  return err as AppLoadError;
}

describe('loadApp', () => {
  it('finds a relative path, takes the default export and the module-level style', async () => {
    const loaded = await loadApp({ module: 'iter.mjs', exportName: undefined, style: undefined }, dir);
    expect(loaded).toMatchObject({
      style: 'iter',
      exportName: 'default',
      path: join(dir, 'iter.mjs'),
      url: pathToFileURL(join(dir, 'iter.mjs')).href,
    });
  });

  it("falls back to the export named 'app', and takes an absolute path or a file: URL", async () => {
    const abs = await loadApp({ module: join(dir, 'named.mjs'), exportName: undefined, style: 'cps' }, '/');
    expect(abs.exportName).toBe('app');
    const url = await loadApp(
      { module: pathToFileURL(join(dir, 'named.mjs')).href, exportName: 'other', style: 'cps' },
      '/',
    );
    expect(url.exportName).toBe('other');
  });

  it("reads a 'style' property on the app itself", async () => {
    expect((await loadApp({ module: 'marked.mjs', exportName: undefined, style: undefined }, dir)).style).toBe('cps');
  });

  it('detects an object with fetch() as a Fetch handler and binds it', async () => {
    const loaded = await loadApp({ module: 'fetchobj.mjs', exportName: undefined, style: undefined }, dir);
    expect(loaded.style).toBe('fetch');
    const response = (await (loaded.app as unknown as (r: Request) => Promise<Response>)(
      new Request('http://x/'),
    )) as Response;
    expect(await response.text()).toBe('hi obj');
  });

  it('names the missing module and where it was looked for', async () => {
    const err = await loadError({ module: 'nope.mjs', exportName: undefined, style: 'iter' });
    expect(err.code).toBe('ERR_CLI_MODULE_NOT_FOUND');
    expect(err.message).toContain(`cannot find module '${join(dir, 'nope.mjs')}'`);
  });

  it('lists the exports when the named one is missing', async () => {
    const err = await loadError({ module: 'named.mjs', exportName: 'handler', style: 'cps' });
    expect(err.code).toBe('ERR_CLI_EXPORT_NOT_FOUND');
    expect(err.message).toMatch(/no export named 'handler'; its exports: app, other; name one as MODULE:EXPORT/);
  });

  it('says so when there is neither a default nor an app export', async () => {
    const err = await loadError({ module: 'noapp.mjs', exportName: undefined, style: 'cps' });
    expect(err.message).toMatch(/neither a default export nor one named 'app'; its exports: answer/);
  });

  it('reports a module that throws while importing, first line only', async () => {
    const err = await loadError({ module: 'throws.mjs', exportName: undefined, style: 'cps' });
    expect(err.code).toBe('ERR_CLI_IMPORT_FAILED');
    expect(err.message).toMatch(/importing '.*throws\.mjs' failed: boom at import$/);
  });

  it('refuses an export that is not a function', async () => {
    const err = await loadError({ module: 'notfn.mjs', exportName: undefined, style: 'iter' });
    expect(err.code).toBe('ERR_CLI_NOT_AN_APP');
    expect(err.message).toBe('notfn.mjs:default is a number, not a function (the iter app)');
  });

  it('points an object with fetch() served as another style to --style fetch', async () => {
    const err = await loadError({ module: 'fetchobj.mjs', exportName: undefined, style: 'iter' });
    expect(err.message).toBe(
      'fetchobj.mjs:default is an object, not a function (the iter app); it has a fetch() method: serve it with --style fetch',
    );
  });

  it('refuses a declared style that is not one of the three', async () => {
    const err = await loadError({ module: 'badstyle.mjs', exportName: undefined, style: undefined });
    expect(err.code).toBe('ERR_CLI_STYLE');
    expect(err.message).toMatch(/"wsgi"; it must be one of 'iter', 'cps', 'fetch'/);
  });

  it('refuses --style that contradicts the declared style', async () => {
    const err = await loadError({ module: 'iter.mjs', exportName: undefined, style: 'cps' });
    expect(err.message).toBe(
      "iter.mjs:default declares style 'iter' but --style cps was given; the module's 'export const style' covers all its exports: drop --style, or mark this export alone with export const styles = { default: 'cps' } (or default.style = 'cps')",
    );
    const own = await loadError({ module: 'marked.mjs', exportName: undefined, style: 'iter' });
    expect(own.message).toBe(
      "marked.mjs:app declares style 'cps' but --style iter was given; drop --style or make them agree",
    );
  });

  it("lets one export of a module with a module-wide style be marked otherwise: export const styles = { name: 'cps' }, or a style property", async () => {
    const viaTable = await loadApp({ module: 'mixed.mjs', exportName: 'admin', style: undefined }, dir);
    expect(viaTable.style).toBe('cps');
    expect((await loadApp({ module: 'mixed.mjs', exportName: 'admin', style: 'cps' }, dir)).style).toBe('cps');
    expect((await loadApp({ module: 'mixed.mjs', exportName: 'app', style: undefined }, dir)).style).toBe('iter');
    expect((await loadApp({ module: 'mixed.mjs', exportName: 'marked', style: 'fetch' }, dir)).style).toBe('fetch');
    const err = await loadError({ module: 'mixed.mjs', exportName: 'nope', style: undefined });
    expect(err.message).toMatch(/its exports: app, admin, marked;/);
    const bad = await loadError({ module: 'badtable.mjs', exportName: undefined, style: undefined });
    expect(bad.message).toMatch(
      /'styles' export is a string; it must map export names to styles, e\.g\. export const styles = \{ app: 'cps' \}/,
    );
  });
});

describe('chooseStyle', () => {
  it('asks for --style when a plain function says nothing', () => {
    expect(() => chooseStyle((a: unknown, b: unknown) => [a, b], {}, undefined, 'app.mjs:app')).toThrow(
      "cannot tell the style of app.mjs:app: pass --style iter|cps|fetch, or declare it in the module with export const style = 'iter' (every export) or export const styles = { app: 'iter' } (one export)",
    );
  });

  it('takes --style when nothing is declared', () => {
    expect(chooseStyle(() => undefined, {}, 'fetch', 'x')).toBe('fetch');
  });

  it("prefers the app's own style property over the module's", () => {
    const app = Object.assign(() => undefined, { style: 'cps' });
    expect(chooseStyle(app, { style: 'iter' }, undefined, 'x')).toBe('cps');
  });
});
