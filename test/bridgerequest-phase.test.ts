/**
 * BridgeRequest's response phase (src/bridge/bridgerequest.ts): the same words
 * as spindle's server's Request.phase where they apply, and startedWriting /
 * completed read from it.
 */
import { describe, expect, it } from 'vitest';
import { BridgeRequest } from '../src/bridge/bridgerequest.js';
import type { BodyControl, BodySink } from '../src/bridge/bridgebody.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { Headers } from '../src/protocols/http/headers.js';

class Host extends BridgeRequest {
  log: string[] = [];
  constructor() {
    const addr = { host: '127.0.0.1', port: 1 };
    super({
      method: 'GET',
      uri: '/',
      version: 'HTTP/1.1',
      headers: new Headers(),
      client: addr,
      host: addr,
      reactor: new MemoryReactor(),
      secure: false,
    });
  }
  protected openBody(sink: BodySink): BodyControl {
    sink.end();
    return { pause() {}, resume() {}, stop() {} };
  }
  protected sendHead(code: number): void {
    this.log.push(`head ${code}`);
  }
  protected sendData(chunk: Uint8Array): void {
    this.log.push(`data ${chunk.length}`);
  }
  protected sendFlush(): void {
    this.log.push('flush');
  }
  protected sendEnd(): void {
    this.log.push('end');
  }
  protected sendAbort(): void {
    this.log.push('abort');
  }
  done(): void {
    this.responseCompleted();
  }
  switched(): void {
    this.switchedProtocols();
  }
}

describe('BridgeRequest.phase', () => {
  it("goes 'open' -> 'streaming' at the head -> 'complete' when the host took it all", () => {
    const r = new Host();
    const seen: boolean[] = [];
    r.notifyFinish().addCallback(() => void seen.push(true));
    expect([r.phase, r.startedWriting, r.completed]).toEqual(['open', false, false]);
    r.write('abc');
    expect([r.phase, r.startedWriting, r.completed]).toEqual(['streaming', true, false]);
    r.finish();
    expect([r.phase, r.finished, seen]).toEqual(['streaming', true, []]);
    r.done();
    expect([r.phase, r.startedWriting, r.completed, seen]).toEqual(['complete', true, true, [true]]);
    expect(r.log).toEqual(['head 200', 'data 3', 'end']);
  });

  it("a protocol switch is 'upgraded': complete, 101, notifyFinish fires once", () => {
    const r = new Host();
    let fired = 0;
    r.notifyFinish().addCallback(() => void fired++);
    r.switched();
    r.done();
    expect([r.phase, r.code, r.startedWriting, r.completed, fired]).toEqual(['upgraded', 101, true, true, 1]);
  });

  it('abort() keeps the phase (how far the response got) and marks the request disconnected', () => {
    const before = new Host();
    before.notifyFinish().addErrback(() => undefined);
    before.abort();
    expect([before.phase, before.startedWriting, before.disconnected, before.completed]).toEqual([
      'open',
      false,
      true,
      false,
    ]);
    const after = new Host();
    after.notifyFinish().addErrback(() => undefined);
    after.flushHeaders();
    after.abort();
    expect([after.phase, after.startedWriting, after.disconnected, after.completed]).toEqual([
      'streaming',
      true,
      true,
      false,
    ]);
    expect(after.log).toEqual(['head 200', 'flush', 'abort']);
  });
});
