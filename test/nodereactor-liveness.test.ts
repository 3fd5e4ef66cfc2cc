/**
 * What keeps the process alive, checked in child processes that must exit by
 * themselves: an idle or stopped reactor must not hold the process, a running
 * one with a pending call must, and SIGTERM stops it gracefully. The bound on
 * each child (CHILD_LIMIT_MS) only catches a hang; no test measures a duration.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';

const CHILD_LIMIT_MS = 20_000;
const reactorUrl = new URL('../src/reactor/nodereactor.ts', import.meta.url).href;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  hung: boolean;
  /** What the child wrote on stderr (its log lines). */
  readonly stderr?: string;
}

/** Run `body` (ESM, with `NodeReactor` imported) in a child; `onLine` sees its stdout lines. */
function child(body: string, onLine?: (line: string, proc: ReturnType<typeof spawn>) => void): Promise<ChildResult> {
  const code = `import { NodeReactor } from ${JSON.stringify(reactorUrl)};\n${body}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    // stderr is read, not inherited: the child's log lines belong to the test, not among npm test's results.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill('SIGKILL');
  }, CHILD_LIMIT_MS);
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    const seen = stdout.split('\n').length - 1;
    stdout += chunk;
    const lines = stdout.split('\n');
    for (let i = seen; i < lines.length - 1; i++) onLine?.(lines[i]!, proc);
  });
  return new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      // stderr is kept off the compared fields (not enumerable): read it as r.stderr.
      resolve(
        Object.defineProperty({ code, signal, stdout, hung }, 'stderr', {
          value: stderr,
          enumerable: false,
        }) as ChildResult,
      );
    });
  });
}

describe('NodeReactor liveness (child processes)', { timeout: CHILD_LIMIT_MS + 5_000 }, () => {
  it('a running reactor whose only call was cancelled lets the process exit', async () => {
    const r = await child(`
      const r = new NodeReactor();
      r.run();
      r.callLater(3600, () => console.log('should not run')).cancel();
      console.log('scheduled and cancelled', r.running);
    `);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'scheduled and cancelled true\n', hung: false });
  });

  it('a reactor that was never run does not keep the process alive for its calls', async () => {
    const r = await child(`
      const r = new NodeReactor();
      r.callLater(3600, () => console.log('should not run'));
      console.log('pending', r.delayedCallCount());
    `);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'pending 1\n', hung: false });
  });

  it('a stopped reactor does not keep the process alive, though its calls stay scheduled', async () => {
    const r = await child(`
      const r = new NodeReactor();
      r.run({ installSignalHandlers: true });
      r.callLater(3600, () => console.log('should not run'));
      r.stop().addCallback(() => console.log('stopped', r.running, r.delayedCallCount()));
    `);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'stopped false 1\n', hung: false });
  });

  it('a running reactor keeps the process alive until its pending call has run', async () => {
    const r = await child(`
      const r = new NodeReactor();
      r.run();
      r.callLater(0.05, () => {
        console.log('fired');
        r.stop();
      });
    `);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'fired\n', hung: false });
  });

  it('SIGTERM stops the reactor gracefully (shutdown triggers run) and the process exits', async () => {
    const r = await child(
      `
      const r = new NodeReactor();
      r.addSystemEventTrigger('before', 'shutdown', () => console.log('shutting down'));
      r.addSystemEventTrigger('after', 'shutdown', () => console.log('shut down'));
      r.run({ installSignalHandlers: true });
      // A long call keeps the process alive while running; shutdown leaves it scheduled.
      r.callLater(3600, () => console.log('should not run'));
      console.log('ready');
    `,
      (line, proc) => {
        if (line === 'ready') proc.kill('SIGTERM');
      },
    );
    expect(r).toEqual({ code: 0, signal: null, stdout: 'ready\nshutting down\nshut down\n', hung: false });
    expect(r.stderr).toMatch(/\[spindle\.reactor#info\] received SIGTERM, shutting down\n/);
  });

  it('a reactor that is not running still runs its due calls while something else keeps Node alive', async () => {
    // If those calls sat on an unref'd setImmediate, Node's poll phase would not
    // wake for them and each step would wait for the hour-long interval.
    const r = await child(`
      const r = new NodeReactor();
      const keepAlive = setInterval(() => {}, 3_600_000);
      let steps = 0;
      const step = () => {
        if (++steps < 50) r.callLater(0, step);
        else {
          console.log('steps', steps);
          clearInterval(keepAlive);
        }
      };
      r.callLater(0, step);
    `);
    expect(r).toEqual({ code: 0, signal: null, stdout: 'steps 50\n', hung: false });
  });

  it('a second SIGTERM during a held shutdown terminates the process', async () => {
    const r = await child(
      `
      const { Deferred } = await import(${JSON.stringify(new URL('../src/reactor/deferred.ts', import.meta.url).href)});
      const r = new NodeReactor();
      r.addSystemEventTrigger('before', 'shutdown', () => {
        console.log('shutting down');
        return new Deferred(); // never fires: shutdown would wait for the timeout
      });
      r.run({ installSignalHandlers: true });
      r.callLater(3600, () => {});
      console.log('ready');
    `,
      (line, proc) => {
        if (line === 'ready' || line === 'shutting down') proc.kill('SIGTERM');
      },
    );
    expect(r).toEqual({ code: null, signal: 'SIGTERM', stdout: 'ready\nshutting down\n', hung: false });
  });
});
