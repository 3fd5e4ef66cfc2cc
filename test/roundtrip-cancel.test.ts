/**
 * A CPS app behind toIterApp behind spindle's own gateway and server, checked
 * by the validator: a stalled client pauses the CPS app's producer well before
 * 1 MiB is queued anywhere in the bridge; a client that goes away while the
 * producer is paused leaves nothing pending (G14, G16).
 */
import { describe, expect, it } from 'vitest';
import { ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { IDelayedCall } from '../src/reactor/interfaces.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { validator } from '../src/bridge/validator.js';
import { memoryServer } from './gateway-hosts.js';

interface Probe { log: string[]; written: number; lost: unknown }

/** Streams 16 KiB writes on each reactor turn while not paused, up to `total`. */
function producerApp(probe: Probe, total: number): CpsApp {
  return (req) => {
    req.notifyFinish().addErrback((f: Failure) => { probe.lost = f.value; });
    req.setHeader('Content-Type', 'application/octet-stream');
    let paused = false;
    let timer: IDelayedCall | null = null;
    const tick = (): void => {
      timer = null;
      if (paused) return;
      if (probe.written >= total) { req.unregisterProducer(); req.finish(); return; }
      req.write(new Uint8Array(16 * 1024).fill(97));
      probe.written += 16 * 1024;
      timer = req.reactor.callLater(0, tick);
    };
    req.registerProducer({
      pauseProducing: () => { probe.log.push('pause'); paused = true; },
      resumeProducing: () => { probe.log.push('resume'); paused = false; timer ??= req.reactor.callLater(0, tick); },
      stopProducing: () => { probe.log.push('stop'); paused = true; if (timer?.active()) timer.cancel(); timer = null; },
    }, true);
    timer = req.reactor.callLater(0, tick);
  };
}

describe('toIterApp on spindle\'s gateway: stalls and disconnects', () => {
  it('a stalled client pauses the CPS producer before 1 MiB is queued; its disconnect leaves nothing pending', async () => {
    const probe: Probe = { log: [], written: 0, lost: null };
    const app = validator(toIterApp(producerApp(probe, 64 * 1024 * 1024)), { onViolation: () => {} });
    const server = memoryServer(app);
    const conn = server.connect(256 * 1024);
    conn.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    for (let i = 0; i < 2000; i++) server.reactor.advance(0);
    expect(probe.log).toEqual(['pause']);
    // Everything the app wrote: on the "wire" (transport high water 256 KiB) plus in the bridge's queue.
    expect(probe.written).toBeLessThan(1024 * 1024);
    const onWire = conn.transport.value().byteLength;
    expect(probe.written - onWire).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);

    conn.protocol.connectionLost(new Failure(new ConnectionLost('client reset')));
    await conn.settle(() => false, 5);
    expect(probe.log).toEqual(['pause', 'stop']);
    expect(probe.lost).toBeInstanceOf(ConnectionLost);
    expect(server.reactor.getDelayedCalls()).toEqual([]);
    expect(app.openResponses).toBe(0);
    expect(app.violations).toEqual([]);
  });

  it('a client that reads slowly gets every byte, with balanced pauses and no contract violation', async () => {
    const probe: Probe = { log: [], written: 0, lost: null };
    const app = validator(toIterApp(producerApp(probe, 2 * 1024 * 1024)), { onViolation: () => {} });
    const server = memoryServer(app);
    const conn = server.connect(128 * 1024);
    conn.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    let received = 0;
    for (let i = 0; i < 5000 && conn.response() === null; i++) {
      server.reactor.advance(0);
      if (i % 10 === 0) { received += conn.transport.value().byteLength; conn.transport.clear(); }
    }
    received += conn.transport.value().byteLength;
    expect(received).toBeGreaterThan(2 * 1024 * 1024);
    expect(probe.log.filter((e) => e === 'pause').length).toBeGreaterThan(0);
    const pauses = probe.log.filter((e) => e === 'pause').length;
    const resumes = probe.log.filter((e) => e === 'resume').length;
    expect(pauses - resumes).toBeLessThanOrEqual(1);
    expect(probe.lost).toBeNull();
    expect(app.violations).toEqual([]);
    expect(app.openResponses).toBe(0);
  });
});
