/**
 * Server-sent events, both styles, on DummyRequest and a MemoryReactor clock:
 * framing, heartbeat, Last-Event-ID, pausing between events, bounds, endings.
 */
import { describe, expect, it } from 'vitest';
import { EventFieldError, eventSource, formatEvent, iterEventSource, toCpsApp } from '../src/index.js';
import type { EventStreamEnd, IterApp, IterEventStream, MemoryReactor } from '../src/index.js';
import { DummyRequest, successResultOf, assertNoResult } from '../src/testing/index.js';

const clockOf = (r: DummyRequest) => (r.reactor as MemoryReactor).clock;

describe('formatEvent', () => {
  it('writes event, id, retry and one data line per line (any line ending)', () => {
    expect(formatEvent({ data: 'a\nb\r\nc\rd', event: 'tick', id: '7', retry: 1500 })).toBe(
      'event: tick\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: c\ndata: d\n\n',
    );
    expect(formatEvent({ data: '' })).toBe('data: \n\n');
  });

  it('refuses CR/LF in event and id, and NUL in id', () => {
    expect(() => formatEvent({ data: 'x', event: 'a\nb' })).toThrow(EventFieldError);
    expect(() => formatEvent({ data: 'x', id: '1\r' })).toThrow(/contains CR, LF or NUL/);
    expect(() => formatEvent({ data: 'x', id: 'a\0' })).toThrow(EventFieldError);
  });
});

describe('eventSource (CPS)', () => {
  it('answers 200 text/event-stream with headers flushed, sends events, heartbeats when idle', () => {
    const r = new DummyRequest({
      uri: '/events',
      headers: [
        ['Host', 'x'],
        ['Last-Event-ID', '41'],
      ],
    });
    const stream = eventSource(r, { heartbeat: 10 });
    expect([
      r.code,
      r.getResponseHeader('content-type'),
      r.getResponseHeader('cache-control'),
      r.startedWriting,
    ]).toEqual([200, 'text/event-stream; charset=utf-8', 'no-cache', true]);
    expect(stream.lastEventId).toBe('41');
    stream.send({ id: '42', data: 'hello' });
    clockOf(r).advance(9.9);
    expect(r.text()).toBe('id: 42\ndata: hello\n\n');
    clockOf(r).advance(0.1);
    expect(r.text()).toBe('id: 42\ndata: hello\n\n: heartbeat\n\n');
    clockOf(r).advance(5);
    stream.send({ data: 'again' }); // restarts the idle timer
    clockOf(r).advance(9);
    expect(r.text().endsWith('data: again\n\n')).toBe(true);
    stream.end();
    expect([r.finished, successResultOf(stream.done), clockOf(r).getDelayedCalls().length]).toEqual([
      true,
      'closed',
      0,
    ]);
  });

  it('the client going away ends the stream ("gone") and stops the heartbeat', () => {
    const r = new DummyRequest();
    const stream = eventSource(r, { heartbeat: 5 });
    assertNoResult(stream.done);
    r.loseConnection();
    expect([successResultOf(stream.done), stream.open, clockOf(r).getDelayedCalls().length]).toEqual([
      'gone',
      false,
      0,
    ]);
    stream.send({ data: 'ignored' });
    expect(r.written.length).toBe(0);
  });

  it('holds events while the transport is paused, and aborts past maxBufferedBytes', () => {
    const r = new DummyRequest();
    const stream = eventSource(r, { heartbeat: 0, maxBufferedBytes: 100 });
    r.pauseTransport();
    stream.send({ data: 'x'.repeat(40) });
    expect(r.written.length).toBe(0);
    r.resumeTransport();
    expect(r.text()).toBe(`data: ${'x'.repeat(40)}\n\n`);
    r.pauseTransport();
    stream.send({ data: 'y'.repeat(60) });
    assertNoResult(stream.done);
    stream.send({ data: 'z'.repeat(60) });
    expect([successResultOf(stream.done), r.aborted]).toEqual(['overflow', true]);
  });

  it('retry goes out first', () => {
    const r = new DummyRequest();
    eventSource(r, { heartbeat: 0, retry: 250 });
    expect(r.text()).toBe('retry: 250\n\n');
  });
});

describe('reactor shutdown ends open streams, so a graceful stop does not wait out its grace', () => {
  it('CPS: the stream ends ("closed") after what waited, and the stop completes', () => {
    const r = new DummyRequest({ uri: '/events', headers: [['Host', 'x']] });
    const reactor = r.reactor as MemoryReactor;
    reactor.run();
    const stream = eventSource(r, { heartbeat: 10 });
    stream.send({ data: 'last' });
    const stopped = reactor.stop();
    expect([r.finished, successResultOf(stream.done), r.text()]).toEqual([true, 'closed', 'data: last\n\n']);
    successResultOf(stopped);
    expect(reactor.clock.getDelayedCalls().filter((c) => c.active()).length).toBe(0);
  });

  it('iterator: the iteration ends after what is queued, and the stop waits for that', () => {
    let stream!: IterEventStream;
    const app: IterApp = (environ, start) => (stream = iterEventSource(environ, start, { heartbeat: 10 }));
    const r = new DummyRequest({ uri: '/events', headers: [['Host', 'x']] });
    const reactor = r.reactor as MemoryReactor;
    reactor.run();
    toCpsApp(app)(r);
    stream.send({ data: 'queued' });
    const stopped = reactor.stop();
    assertNoResult(stopped); // the gateway has not pulled the queued event yet
    for (let i = 0; i < 5 && !r.finished; i++) reactor.clock.advance(0);
    expect([r.finished, successResultOf(stream.done), r.text()]).toEqual([true, 'closed', 'data: queued\n\n']);
    successResultOf(stopped);
  });

  it('a stream that already ended is not told again, and an idle reactor stops at once', () => {
    const r = new DummyRequest({ uri: '/events', headers: [['Host', 'x']] });
    const reactor = r.reactor as MemoryReactor;
    reactor.run();
    const stream = eventSource(r, { heartbeat: 0 });
    stream.end();
    successResultOf(reactor.stop());
    expect(successResultOf(stream.done)).toBe('closed');
  });
});

describe('iterEventSource (iterator app, through the gateway)', () => {
  function host(options: { heartbeat?: number; maxBufferedBytes?: number } = {}) {
    let stream!: IterEventStream;
    const app: IterApp = (environ, start) => {
      stream = iterEventSource(environ, start, options);
      return stream;
    };
    const r = new DummyRequest({
      uri: '/events',
      headers: [
        ['Host', 'x'],
        ['Last-Event-ID', 'ev-3'],
      ],
    });
    toCpsApp(app)(r);
    const turn = () => clockOf(r).advance(0); // the gateway's callLater(0) turns
    return { r, stream: () => stream, turn };
  }

  it('flushes the headers at once, sends each event as it comes, pauses output in between', () => {
    const { r, stream, turn } = host({ heartbeat: 0 });
    expect([r.code, r.getResponseHeader('content-type'), r.startedWriting, stream().lastEventId]).toEqual([
      200,
      'text/event-stream; charset=utf-8',
      true,
      'ev-3',
    ]);
    stream().send({ id: 'ev-4', data: 'four' });
    turn();
    expect(r.text()).toBe('id: ev-4\ndata: four\n\n');
    turn();
    turn();
    expect(r.written.length).toBe(1); // paused: no busy pulling, nothing more
    stream().send({ data: 'five', event: 'n' });
    turn();
    expect(r.text()).toBe('id: ev-4\ndata: four\n\nevent: n\ndata: five\n\n');
    stream().end();
    turn();
    expect([r.finished, successResultOf(stream().done)]).toEqual([true, 'closed']);
  });

  it('heartbeats on the reactor clock after an idle period', () => {
    const { r, stream } = host({ heartbeat: 15 });
    clockOf(r).advance(14);
    expect(r.written.length).toBe(0);
    clockOf(r).advance(1);
    clockOf(r).advance(0);
    expect(r.text()).toBe(': heartbeat\n\n');
    stream().end();
    clockOf(r).advance(0);
  });

  it('the client going away ends the iteration: done is "gone", the heartbeat stops', () => {
    const { r, stream } = host({ heartbeat: 15 });
    r.loseConnection();
    const why: EventStreamEnd = successResultOf(stream().done);
    expect([
      why,
      clockOf(r)
        .getDelayedCalls()
        .filter((c) => c.active()).length,
    ]).toEqual(['gone', 0]);
  });

  it('events queued for a client that does not read are bounded ("overflow" ends the stream)', () => {
    const { r, stream, turn } = host({ heartbeat: 0, maxBufferedBytes: 50 });
    r.pauseTransport();
    stream().send({ data: 'a'.repeat(30) });
    turn();
    assertNoResult(stream().done);
    stream().send({ data: 'b'.repeat(30) });
    expect(successResultOf(stream().done)).toBe('overflow');
  });
});
