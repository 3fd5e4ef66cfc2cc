/**
 * Serve benchmarks with spindle as installed users run it: src/ compiled by
 * tsc. The bench servers are TypeScript run through tsx, and tsx compiles with
 * esbuild's keepNames, whose `__name()` wrapper on every closure created per
 * request or per chunk would tax spindle and not the node:http baseline.
 *
 * The bench process calls `buildDist()` once and passes the directory to its
 * server processes in `SPINDLE_BENCH_DIST`; a server loads spindle's modules
 * with `spindleModule()`, which falls back to the sources (through tsx) when
 * the variable is unset, e.g. when a server is started by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The environment variable naming the build directory. */
export const DIST_ENV = 'SPINDLE_BENCH_DIST';

/**
 * Compile src/ with tsc into a temporary directory; null if the build failed.
 * With `rev`, the sources of that git revision (e.g. `main`, a commit), for a
 * before/after pair in one run (bench/peers.ts `PEERS_BASE`).
 */
export function buildDist(rev?: string): string | null {
  const out = mkdtempSync(join(tmpdir(), 'spindle-bench-'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let cwd = root;
  if (rev !== undefined) {
    cwd = mkdtempSync(join(tmpdir(), 'spindle-bench-src-')); // not inside `out`: tsc excludes its outDir
    const archive = spawnSync('git', ['archive', rev, 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'], {
      cwd: root,
      maxBuffer: 256 * 1024 * 1024,
    });
    spawnSync('tar', ['-x', '-C', cwd], { input: archive.stdout, stdio: ['pipe', 'ignore', 'ignore'] });
    symlinkSync(join(root, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  }
  spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'],
    { cwd, stdio: 'ignore' },
  );
  if (cwd !== root) rmSync(cwd, { recursive: true, force: true });
  if (!existsSync(join(out, 'src', 'bridge', 'gateway.js'))) {
    rmSync(out, { recursive: true, force: true });
    return null;
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
  return out;
}

export function removeDist(dir: string | null): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Environment for a server process: the build directory when there is one. */
export function serverEnv(dir: string | null): NodeJS.ProcessEnv {
  return dir ? { ...process.env, [DIST_ENV]: dir } : process.env;
}

/** Import `src/<path>` (e.g. 'reactor/nodereactor.js') from the build, or from the sources. */
export function spindleModule<T>(path: string): Promise<T> {
  const dir = process.env[DIST_ENV];
  const base = dir ? pathToFileURL(`${dir}/src/`).href : new URL('../../src/', import.meta.url).href;
  return import(`${base}${path}`) as Promise<T>;
}

/** Set (to '1') in a bench server's environment to serve HTTPS with the test certificate (bench/https.ts). */
export const TLS_ENV = 'SPINDLE_BENCH_TLS';

/** The test key and certificate (test/fixtures/tls) when the server should speak TLS, else null. */
export function benchTLS(): { key: Buffer; cert: Buffer } | null {
  if (process.env[TLS_ENV] !== '1') return null;
  const dir = join(root, 'test', 'fixtures', 'tls');
  return { key: readFileSync(join(dir, 'server-key.pem')), cert: readFileSync(join(dir, 'server.pem')) };
}

/** How spindle was loaded, for a benchmark's note. */
export function builtNote(dir: string | null): string {
  return dir ? 'spindle compiled by tsc' : 'spindle through tsx (tsc build failed)';
}
