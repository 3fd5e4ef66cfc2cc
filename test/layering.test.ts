/**
 * The layers import downwards only (DESIGN.md "Layers"): src/reactor imports
 * nothing from src/protocols or src/bridge, and src/protocols nothing from
 * src/bridge. src/testing (spindle/testing) may import every layer, and no
 * layer imports it. Library code never imports the shared reactor.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, resolved against the repo root. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return specs
    .map((m) => m[1] ?? m[2]!)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(rootDir, resolve(dirname(file), s)));
}

function violations(layer: string, forbidden: string[]): string[] {
  return sourceFiles(join(rootDir, 'src', layer)).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((f) => target.startsWith(join('src', f))))
      .map((target) => `${relative(rootDir, file)} imports ${target}`),
  );
}

describe('layering', () => {
  it('src/reactor imports nothing from src/protocols or src/bridge', () => {
    expect(violations('reactor', ['protocols', 'bridge'])).toEqual([]);
  });

  it('src/protocols imports nothing from src/bridge', () => {
    expect(violations('protocols', ['bridge'])).toEqual([]);
  });

  it('no layer (nor the package root) imports src/testing', () => {
    const offenders = ['reactor', 'protocols', 'bridge', 'cli'].flatMap((layer) => violations(layer, ['testing']));
    const root = importsOf(join(rootDir, 'src', 'index.ts')).filter((t) => t.startsWith(join('src', 'testing')));
    expect([...offenders, ...root]).toEqual([]);
  });

  it('src/testing imports from the layers below it (and the scanner sees it)', () => {
    const targets = sourceFiles(join(rootDir, 'src', 'testing')).flatMap(importsOf);
    for (const layer of ['reactor', 'protocols', 'bridge'])
      expect(targets.some((t) => t.startsWith(join('src', layer)))).toBe(true);
  });

  it('library code never imports the shared default reactor', () => {
    const libraryFiles = ['reactor', 'protocols', 'bridge'].flatMap((l) => sourceFiles(join(rootDir, 'src', l)));
    const offenders = libraryFiles.filter((file) => {
      const rel = relative(rootDir, file);
      if (rel === join('src', 'reactor', 'shared.ts') || rel.endsWith('index.ts')) return false;
      return importsOf(file).some((t) => t === join('src', 'reactor', 'shared.js'));
    });
    // serve() is the one-call entry point for apps and may fall back to it.
    expect(offenders.map((f) => relative(rootDir, f)).filter((f) => !f.endsWith(join('bridge', 'serve.ts')))).toEqual(
      [],
    );
  });

  it('the import scanner sees the imports it must police', () => {
    // Guards the test itself: if the regex stopped matching, the checks above would pass vacuously.
    const found = importsOf(join(rootDir, 'src', 'reactor', 'interfaces.ts'));
    expect(found).toContain(join('src', 'reactor', 'deferred.js'));
  });
});
