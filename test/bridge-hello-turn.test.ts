/**
 * A bridged hello (`toCpsApp(toIterApp(cpsApp))`) is answered inside the read
 * that brought it, as the CPS app's is: its bytes are on the transport before
 * the reactor turns, and it leaves no call behind but the connection's own
 * idle timeout. (On a socket, a turn per request would cost a wake-up and a
 * second pass through the loop; BENCHMARKS.md, fifth session, the bridge.)
 */
import { describe, expect, it } from 'vitest';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { quietLogger } from './gateway-hosts.js';

const hello: CpsApp = (request) => {
  request.setHeader('Content-Type', 'text/plain');
  request.write('hello world!');
  request.finish();
};

/** Feed `reads` to one connection; per read, the bytes written before any reactor turn and the calls pending then. */
function answersInTheRead(app: CpsApp, reads: string[]): { bytes: string[]; pending: number[] } {
  const reactor = new MemoryReactor();
  const transport = new StringTransport();
  const protocol = new HTTPFactory(app, { reactor, logger: quietLogger() }).buildProtocol(transport.getPeer())!;
  protocol.makeConnection(transport);
  const bytes: string[] = [];
  const pending: number[] = [];
  for (const r of reads) {
    protocol.dataReceived(Buffer.from(r, 'latin1'));
    bytes.push(transport.valueString());
    pending.push(reactor.getDelayedCalls().length);
    transport.clear();
    reactor.advance(0);
  }
  return { bytes, pending };
}

describe('a bridged hello is answered in the read that brought it', () => {
  it('each keep-alive hello is on the transport before the reactor turns, with only the idle timeout pending', () => {
    const get = 'GET /h?x=1 HTTP/1.1\r\nHost: t\r\n\r\n';
    const direct = answersInTheRead(hello, [get, get, get]);
    const bridged = answersInTheRead(toCpsApp(toIterApp(hello), { logger: quietLogger() }), [get, get, get]);
    for (const out of bridged.bytes) {
      expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(out.endsWith('\r\n\r\nhello world!')).toBe(true);
    }
    expect(bridged.bytes).toEqual(direct.bytes);
    expect(bridged.pending).toEqual(direct.pending);
    expect(Math.max(...bridged.pending)).toBeLessThanOrEqual(1);
  });

  it('two pipelined hellos in one read are both answered in it', () => {
    const get = 'GET / HTTP/1.1\r\nHost: t\r\n\r\n';
    const { bytes } = answersInTheRead(toCpsApp(toIterApp(hello), { logger: quietLogger() }), [get + get]);
    expect(bytes[0]!.split('hello world!').length - 1).toBe(2);
  });
});
