/**
 * Issue 12 item 8: a NodeReactor that was never run() but serves (serve(app,
 * { reactor }) alone, or serve() on the shared reactor as the README's threads
 * example does) must run its due calls as fast as a running one. Before the
 * fix each deferred step of a response waited on a 1 ms unref'd timer (1 GiB
 * from an iterator app: 2.0 s instead of 0.46 s). Measured by how the
 * reactor's passes are armed (counts of Node handles), never by wall time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { serve } from '../src/bridge/serve.js';
import type { IterApp } from '../src/bridge/interfaces.js';

const MIB = 1024 * 1024;
const CHUNKS = 16;

/** 16 MiB in 1 MiB chunks: the gateway yields to the reactor (callLater(0)) after each. */
const bigApp: IterApp = function* (_environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
  for (let i = 0; i < CHUNKS; i++) yield Buffer.alloc(MIB, i);
};

function download(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Serve bigApp on `reactor`, download it, and count how the reactor armed its passes. */
async function countArming(reactor: NodeReactor) {
  const runPass = (reactor as unknown as { runPass: () => void }).runPass;
  const timers = vi.spyOn(globalThis, 'setTimeout');
  const immediates = vi.spyOn(globalThis, 'setImmediate');
  const port = await serve(bigApp, { style: 'iter', port: 0, reactor });
  try {
    const bytes = await download(port.getHost().port);
    // A due call that waited on a timer: setTimeout(runPass, <= 1 ms).
    const dueOnTimer = timers.mock.calls.filter(([fn, ms]) => fn === runPass && (ms ?? 0) <= 1).length;
    const dueOnImmediate = immediates.mock.calls.filter(([fn]) => fn === runPass).length;
    return { bytes, dueOnTimer, dueOnImmediate };
  } finally {
    timers.mockRestore();
    immediates.mockRestore();
    await port.stopListening();
  }
}

describe('a NodeReactor that was never run() but serves', () => {
  it('runs every due call of a response on the next turn (setImmediate), as a running reactor does, never on a 1 ms timer', async () => {
    const running = new NodeReactor();
    running.run();
    const ran = await countArming(running);
    await running.stop();

    const neverRun = new NodeReactor();
    const idle = await countArming(neverRun);

    expect(ran.bytes).toBe(CHUNKS * MIB);
    expect(idle.bytes).toBe(CHUNKS * MIB);
    expect(ran.dueOnTimer).toBe(0);
    // The same turn mechanism either way: no due call waits for a timer.
    expect(idle.dueOnTimer).toBe(0);
    expect(idle.dueOnImmediate).toBeGreaterThan(0);
    expect(ran.dueOnImmediate).toBeGreaterThan(0);
  });

  it("keeps an idle never-run reactor (no port, no connection) on an unref'd timer, so it never holds the process open", () => {
    const reactor = new NodeReactor();
    const runPass = (reactor as unknown as { runPass: () => void }).runPass;
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    const call = reactor.callLater(0, () => {});
    const armed = timers.mock.results.find((_r, i) => timers.mock.calls[i]![0] === runPass);
    expect(armed).toBeDefined();
    expect((armed!.value as NodeJS.Timeout).hasRef()).toBe(false);
    expect(immediates.mock.calls.some(([fn]) => fn === runPass)).toBe(false);
    call.cancel();
  });
});
