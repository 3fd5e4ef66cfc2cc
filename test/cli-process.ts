/**
 * Helpers for tests that run spindle (the CLI, the demo, the examples) as a
 * child process: start it, wait for a stdout line, make plain HTTP requests
 * (a fresh connection each, `Connection: close`), and stop it. Every wait has
 * a bound, and `stopAll()` kills whatever a failed test left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * Bound on a child's start (tsx compiles on the fly; the machine may be busy).
 * Only a hang detector: the wait is for the listening line. A cluster's start
 * (three tsx processes) takes 2-3 s on two idle cores and passed 15 s on loaded ones.
 */
export const START_BOUND_MS = 30_000;
/** Bound on a child that runs to its exit by itself (an error path, a one-shot example): a hang detector too. */
export const RUN_BOUND_MS = 40_000;
/** Per-test bound for tests that start children: generous, since the whole suite may share two cores. */
export const CHILD_TEST_TIMEOUT_MS = 60_000;
/**
 * Bound on a child's exit after it was told to stop: a hang detector, not the
 * CLI's 5 s contract (that is the child's own timer, HARD_EXIT_SECONDS, and the
 * drain's grace is checked on a Clock in cli-shutdown.test.ts). A stop that
 * waits out the 3 s grace takes over 3 s, too close to a 6 s bound on loaded cores.
 */
export const EXIT_BOUND_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** `node --import tsx ARGS` in the repository root. */
export function startNode(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((done) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      done({ code, signal });
    });
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Resolve with the first match of `pattern` on stdout; reject if the child exits or the bound passes. */
export function waitForStdout(child: Child, pattern: RegExp, boundMs = START_BOUND_MS): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = child.stdout().match(pattern);
      if (m) {
        cleanup();
        resolve(m);
      }
      return m !== null;
    };
    const onExit = ({ code, signal }: Exit): void => {
      if (check()) return;
      cleanup();
      reject(
        new Error(
          `child exited (${signal ?? code}) before printing ${pattern}\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`no ${pattern} on stdout within ${boundMs} ms\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`),
      );
    }, boundMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.proc.stdout!.off('data', check);
    };
    child.proc.stdout!.on('data', check);
    void child.exited.then(onExit);
    check();
  });
}

/** Start a server child and return its base URL from the `listening on` line. */
export async function startServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  const child = startNode(args, env);
  const m = await waitForStdout(child, /^listening on (http:\/\/\S+)$/m);
  return { child, url: m[1]! };
}

/** The child's exit, or a rejection (and a SIGKILL) if it does not exit within the bound. */
export async function exitWithin(child: Child, boundMs = EXIT_BOUND_MS): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.proc.kill('SIGKILL');
      reject(
        new Error(`child did not exit within ${boundMs} ms\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`),
      );
    }, boundMs);
  });
  try {
    return await Promise.race([child.exited, bound]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection (`Connection: close`), body read whole. */
export function fetchText(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', agent: false, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Kill every child still running (afterEach). */
export function stopAll(): void {
  for (const proc of running) proc.kill('SIGKILL');
  running.clear();
}
