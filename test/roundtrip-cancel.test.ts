/**
 * A CPS app behind toIterApp behind spindle's own gateway and server, checked
 * by the validator: a stalled client pauses the CPS app's producer well before
 * 1 MiB is queued anywhere in the bridge; a client that goes away while the
 * producer is paused leaves nothing pending (G14, G16).
 */
import { describe, expect, it } from 'vitest';
import { ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { validator } from '../src/bridge/validator.js';
import { memoryServer } from './gateway-hosts.js';
import { streamingApp, type StreamProbe } from './toiterapp-helpers.js';

interface Probe extends StreamProbe {
  lost: unknown;
}

/** Streams 16 KiB writes on each reactor turn while not paused, up to `total`; records how the request ended. */
function producerApp(probe: Probe, total: number): CpsApp {
  const stream = streamingApp(total, 16 * 1024, probe);
  return (req) => {
    req.notifyFinish().addErrback((f: Failure) => {
      probe.lost = f.value;
    });
    req.setHeader('Content-Type', 'application/octet-stream');
    stream(req);
  };
}

describe("toIterApp on spindle's gateway: stalls and disconnects", () => {
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
      if (i % 10 === 0) {
        received += conn.transport.value().byteLength;
        conn.transport.clear();
      }
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
