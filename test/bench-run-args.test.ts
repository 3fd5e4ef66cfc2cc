/**
 * `npm run bench -- --help` prints the usage and the benchmark names instead of
 * starting every benchmark (minutes of load); a mistyped name or option is an
 * error naming it, instead of a run of nothing or of everything.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli-process.js';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('bench/run.ts arguments', () => {
  it('--help prints the usage and every benchmark name, and runs none', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench /);
    expect(r.stdout).toMatch(/benchmarks: .*\bhttp-hello\b.*\bpeers\b/);
    expect(r.stderr).not.toMatch(/running /);
  });

  it('an unknown name or option exits 2 naming it, and runs none', () => {
    const r = run('--quick', 'http-helo', '--fast');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bench: unknown "--fast", "http-helo"\nusage: /);
    expect(r.stderr).not.toMatch(/running /);
  });

  it('every name it lists is a benchmark (a default export), not a tool that would run when imported', () => {
    const names = /benchmarks: (.*)/.exec(run('--help').stdout)![1]!.split(' ');
    expect(names).toContain('peers');
    for (const name of names) {
      const text = readFileSync(join(ROOT, 'bench', `${name}.ts`), 'utf8');
      expect({ name, benchmark: /^export default /m.test(text) }).toEqual({ name, benchmark: true });
    }
  });
});
