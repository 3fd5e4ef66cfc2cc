/**
 * The cluster primary (src/cli/cluster.ts) against workers whose events a test
 * orders: node:cluster may report a worker's exit before the primary has read
 * that worker's last IPC messages, so a start-up error ('fatal') can come after
 * the 'exit'. CI saw it under load (a missing module counted as an unexpected
 * exit: code 1 instead of 3); here the order is given, not raced for.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runPrimary, type PrimaryHost, type PrimaryWorker, type WorkerMessage } from '../src/cli/cluster.js';
import { EXIT_APP } from '../src/cli/errors.js';
import type { ServeOptions } from '../src/cli/args.js';

class FakeWorker extends EventEmitter {
  connected = true;
  dead = false;
  readonly sent: unknown[] = [];
  readonly process: PrimaryWorker['process'];
  constructor(readonly id: number) {
    super();
    this.process = { pid: 1000 + id, kill: () => true };
  }
  isConnected(): boolean {
    return this.connected;
  }
  isDead(): boolean {
    return this.dead;
  }
  /** As node:child_process does: on a closed channel the error goes to the callback, or is emitted as 'error' (a crash when nobody listens). */
  send(message: unknown, _handle?: undefined, _options?: undefined, callback?: (error: Error | null) => void): boolean {
    this.sent.push(message);
    if (!this.connected) {
      const err = Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' });
      process.nextTick(() => (callback ? callback(err) : this.emit('error', err)));
      return false;
    }
    return true;
  }
  tell(message: WorkerMessage): void {
    this.emit('message', message);
  }
  exited(code: number): void {
    this.dead = true;
    this.emit('exit', code, null);
  }
  disconnected(): void {
    this.connected = false;
    this.emit('disconnect');
  }
}

function primary(processes: number) {
  const workers: FakeWorker[] = [];
  const out = { stdout: '', stderr: '', exits: [] as number[] };
  const host: PrimaryHost = {
    fork: () => {
      const w = new FakeWorker(workers.length + 1);
      workers.push(w);
      return w;
    },
    onSignal: () => {},
  };
  const options = { processes } as ServeOptions;
  runPrimary(
    options,
    { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), exit: (c) => out.exits.push(c) },
    undefined,
    host,
  );
  return { workers, out };
}

const fatal: WorkerMessage = { type: 'fatal', message: "cannot find module '/x/nope.mjs'", exitCode: EXIT_APP };

describe('the cluster primary and the order of a worker’s events', () => {
  it('a start-up error read after the worker’s exit is still the one error line and exit code (no replacement)', () => {
    const { workers, out } = primary(2);
    const [a, b] = workers as [FakeWorker, FakeWorker];
    a.exited(EXIT_APP); // seen before its last message was read
    a.tell(fatal);
    a.disconnected();
    expect(workers).toHaveLength(2); // not replaced as an unexpected exit
    expect(b.sent).toEqual([{ type: 'shutdown' }]);
    b.disconnected();
    b.exited(0);
    expect(out.exits).toEqual([EXIT_APP]);
    expect(out.stderr).toBe("spindle: cannot find module '/x/nope.mjs'\n");
  });

  it('the usual order (message, channel closed, exit) gives the same result', () => {
    const { workers, out } = primary(2);
    const [a, b] = workers as [FakeWorker, FakeWorker];
    a.tell(fatal);
    a.disconnected();
    a.exited(EXIT_APP);
    expect(workers).toHaveLength(2);
    b.exited(0);
    b.disconnected();
    expect(out.exits).toEqual([EXIT_APP]);
    expect(out.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('a worker whose channel closed before its exit is not sent the stop (a send would emit an error that nobody handles: exit 1)', async () => {
    const { workers, out } = primary(2);
    const [a, b] = workers as [FakeWorker, FakeWorker];
    b.tell(fatal);
    b.disconnected(); // its exit not seen yet
    a.tell(fatal);
    a.disconnected();
    a.exited(EXIT_APP); // the primary stops the group: b is not dead, but its channel is closed
    await new Promise((r) => process.nextTick(r));
    expect(b.sent).toEqual([]);
    b.exited(EXIT_APP);
    expect(out.exits).toEqual([EXIT_APP]);
    expect(out.stderr).toBe("spindle: cannot find module '/x/nope.mjs'\n");
  });

  it('a worker that dies after every worker listened is replaced once its channel has closed', () => {
    const { workers, out } = primary(2);
    for (const w of workers) w.tell({ type: 'listening', host: '127.0.0.1', port: 8080 });
    expect(out.stdout).toBe('listening on http://127.0.0.1:8080\n');
    const a = workers[0]!;
    a.exited(1);
    expect(workers).toHaveLength(2); // its channel is still open: its last messages may be on the way
    a.disconnected();
    expect(workers).toHaveLength(3);
    expect(out.exits).toEqual([]);
  });
});
