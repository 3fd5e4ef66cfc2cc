/**
 * Every name in DESIGN.md's public-surface table is exported from src/index.ts,
 * and each layer's entry point (package.json "exports") re-exports its part.
 */
import { describe, expect, it } from 'vitest';
import * as spindle from '../src/index.js';
import * as reactorEntry from '../src/reactor/index.js';
import sharedReactor from '../src/reactor/index.js';
import * as testingEntry from '../src/testing/index.js';

const surface: Record<string, string[]> = {
  Deferred: ['Deferred', 'Failure', 'succeed', 'fail', 'maybeDeferred', 'DeferredList', 'gatherResults', 'DeferredLock', 'DeferredSemaphore', 'DeferredQueue', 'inlineCallbacks', 'ensureDeferred'],
  errors: ['AlreadyCalledError', 'CancelledError', 'TimeoutError', 'FirstError', 'QueueOverflow', 'AlreadyCancelled', 'AlreadyCalled', 'ConnectionDone', 'ConnectionLost', 'ResponseDone'],
  'time and core': ['NodeReactor', 'Clock', 'MemoryReactor', 'LoopingCall', 'deferLater', 'cooperate', 'Cooperator'],
  logging: ['Logger', 'LogPublisher', 'globalLogPublisher'],
  protocols: ['Protocol', 'Factory', 'ClientFactory', 'ReconnectingClientFactory', 'LineReceiver', 'NetstringReceiver', 'Int32StringReceiver', 'StringTransport', 'loopback'],
  HTTP: ['HTTPFactory', 'Request'],
  'HTTP client': ['Agent', 'HTTPConnectionPool', 'Response', 'readBody', 'FileBodyProducer', 'ResponseFailed', 'ResponseNeverReceived', 'ResponseTimeout', 'RequestTransmissionFailed', 'ResponseBodyTooLarge', 'reverseProxy'],
  bridge: ['toCpsApp', 'toIterApp', 'toFetchHandler', 'fromFetchHandler', 'toNodeListener', 'validator', 'ThreadPool', 'deferToThread', 'threadedIterApp'],
  'one call': ['serve'],
  WebSocket: ['acceptWebSocket', 'WebSocketProtocol', 'WebSocketProtocolError', 'WebSocketClosedError', 'WebSocketCloseCodeError', 'WebSocketHandshakeError', 'WebSocketUnsupportedError', 'DEFAULT_MAX_MESSAGE_BYTES'],
  listeners: ['listenTLS', 'connectTLS', 'listenUNIX', 'connectUNIX', 'TLS_HANDSHAKE_TIMEOUT', 'TLSHandshakeError', 'TLSStateError'],
  endpoints: ['serverFromString', 'clientFromString', 'parseServerEndpoint', 'parseClientEndpoint', 'EndpointSyntaxError', 'EndpointFileError'],
};

describe('public surface', () => {
  for (const [area, names] of Object.entries(surface)) {
    it(`exports the ${area} names`, () => {
      const exported = spindle as Record<string, unknown>;
      const missing = names.filter((n) => exported[n] === undefined);
      expect(missing).toEqual([]);
    });
  }

  it('errors are classes with a stable code', () => {
    for (const name of surface.errors!) {
      const E = (spindle as unknown as Record<string, new (...a: never[]) => Error>)[name]!;
      expect(typeof E).toBe('function');
    }
    expect(new spindle.CancelledError().code).toBe('ERR_CANCELLED');
  });

  it('spindle/reactor default-exports a shared reactor, created lazily', () => {
    expect(typeof sharedReactor.callLater).toBe('function');
    expect(reactorEntry.NodeReactor).toBe(spindle.NodeReactor);
  });

  it('spindle/testing exports the test helpers and the same test doubles as the root', () => {
    for (const name of ['successResultOf', 'failureResultOf', 'assertNoResult', 'TimeoutMixin', 'DummyRequest', 'makeEnviron']) expect(typeof (testingEntry as Record<string, unknown>)[name]).toBe('function');
    expect(testingEntry.Clock).toBe(spindle.Clock);
    expect(testingEntry.StringTransport).toBe(spindle.StringTransport);
    expect(testingEntry.MemoryReactor).toBe(spindle.MemoryReactor);
    expect(testingEntry.loopback).toBe(spindle.loopback);
    expect(testingEntry.TimeoutMixin).toBe(spindle.TimeoutMixin);
  });

  it('the TLS and Unix-socket names come from the reactor layer, and the shared reactor has them', () => {
    for (const name of surface.listeners!) expect((reactorEntry as Record<string, unknown>)[name]).toBe((spindle as Record<string, unknown>)[name]);
    for (const m of ['listenTLS', 'connectTLS', 'listenUNIX', 'connectUNIX'] as const) expect(typeof sharedReactor[m]).toBe('function');
    expect(new spindle.TLSHandshakeError('x').code).toBe('ERR_TLS_HANDSHAKE');
  });
});
