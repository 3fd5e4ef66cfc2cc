/**
 * Every name in DESIGN.md's public-surface table is exported from src/index.ts,
 * and each layer's entry point (package.json "exports") re-exports its part.
 */
import { describe, expect, it } from 'vitest';
import * as spindle from '../src/index.js';
import * as reactorEntry from '../src/reactor/index.js';
import sharedReactor from '../src/reactor/index.js';
import * as testingEntry from '../src/testing/index.js';
import * as protocolsEntry from '../src/protocols/index.js';
import * as bridgeEntry from '../src/bridge/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const surface: Record<string, string[]> = {
  Deferred: [
    'Deferred',
    'Failure',
    'succeed',
    'fail',
    'maybeDeferred',
    'DeferredList',
    'gatherResults',
    'DeferredLock',
    'DeferredSemaphore',
    'DeferredQueue',
    'inlineCallbacks',
    'ensureDeferred',
  ],
  errors: [
    'AlreadyCalledError',
    'CancelledError',
    'TimeoutError',
    'FirstError',
    'QueueOverflow',
    'AlreadyCancelled',
    'AlreadyCalled',
    'ConnectionDone',
    'ConnectionLost',
    'ResponseDone',
  ],
  'time and core': ['NodeReactor', 'Clock', 'MemoryReactor', 'LoopingCall', 'deferLater', 'cooperate', 'Cooperator'],
  logging: ['Logger', 'LogPublisher', 'globalLogPublisher'],
  protocols: [
    'Protocol',
    'Factory',
    'ClientFactory',
    'ReconnectingClientFactory',
    'LineReceiver',
    'NetstringReceiver',
    'Int32StringReceiver',
    'StringTransport',
    'loopback',
  ],
  HTTP: ['HTTPFactory', 'Request'],
  'HTTP client': [
    'Agent',
    'HTTPConnectionPool',
    'Response',
    'readBody',
    'FileBodyProducer',
    'ResponseFailed',
    'ResponseNeverReceived',
    'ResponseTimeout',
    'RequestTransmissionFailed',
    'ResponseBodyTooLarge',
    'reverseProxy',
    'RedirectAgent',
    'ContentDecoderAgent',
    'TooManyRedirects',
    'ProtocolSwitchError',
  ],
  bridge: [
    'toCpsApp',
    'toIterApp',
    'toFetchHandler',
    'fromFetchHandler',
    'toNodeListener',
    'validator',
    'ThreadPool',
    'deferToThread',
    'threadedIterApp',
  ],
  'one call': ['serve'],
  WebSocket: [
    'acceptWebSocket',
    'connectWebSocket',
    'WebSocketProtocol',
    'WebSocketProtocolError',
    'WebSocketClosedError',
    'WebSocketCloseCodeError',
    'WebSocketHandshakeError',
    'WebSocketUnsupportedError',
    'DEFAULT_MAX_MESSAGE_BYTES',
  ],
  listeners: [
    'listenTLS',
    'connectTLS',
    'listenUNIX',
    'connectUNIX',
    'TLS_HANDSHAKE_TIMEOUT',
    'TLSHandshakeError',
    'TLSStateError',
  ],
  endpoints: [
    'serverFromString',
    'clientFromString',
    'parseServerEndpoint',
    'parseClientEndpoint',
    'EndpointSyntaxError',
    'EndpointFileError',
  ],
  'behind a proxy': ['TrustedProxies', 'TrustedProxyError'],
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
    for (const name of [
      'successResultOf',
      'failureResultOf',
      'assertNoResult',
      'TimeoutMixin',
      'DummyRequest',
      'makeEnviron',
    ])
      expect(typeof (testingEntry as Record<string, unknown>)[name]).toBe('function');
    expect(testingEntry.Clock).toBe(spindle.Clock);
    expect(testingEntry.StringTransport).toBe(spindle.StringTransport);
    expect(testingEntry.MemoryReactor).toBe(spindle.MemoryReactor);
    expect(testingEntry.loopback).toBe(spindle.loopback);
    expect(testingEntry.TimeoutMixin).toBe(spindle.TimeoutMixin);
  });

  it('the TLS and Unix-socket names come from the reactor layer, and the shared reactor has them', () => {
    for (const name of surface.listeners!)
      expect((reactorEntry as Record<string, unknown>)[name]).toBe((spindle as Record<string, unknown>)[name]);
    for (const m of ['listenTLS', 'connectTLS', 'listenUNIX', 'connectUNIX'] as const)
      expect(typeof sharedReactor[m]).toBe('function');
    expect(new spindle.TLSHandshakeError('x').code).toBe('ERR_TLS_HANDSHAKE');
  });
});

/**
 * The exact value exports of each entry point (package.json "exports"), as
 * trio's test_exports.py pins its namespace: adding, renaming or dropping a
 * public name fails here, so a change to the surface is a decision made in
 * this list (and in DESIGN.md / the docs), not a side effect. Type-only
 * exports are not visible at run time; `tsc` checks those.
 */
const PINNED: Record<string, string[]> = {
  spindle: [
    'Agent',
    'AlreadyCalled',
    'AlreadyCalledError',
    'AlreadyCancelled',
    'BadFrameError',
    'BodyAlreadyConsumedError',
    'BodyBeforeStartResponseError',
    'BodyTooLargeError',
    'BridgeError',
    'BridgeHostUnsupportedError',
    'BridgeNoReactorError',
    'BridgeOverflowError',
    'CancelledError',
    'CannotListenError',
    'ChildNameError',
    'ClientFactory',
    'ClientGoneError',
    'Clock',
    'ConnectError',
    'ConnectTimeoutError',
    'ConnectionDone',
    'ConnectionLost',
    'ConnectionRefusedError',
    'ConnectorStateError',
    'ContentDecoderAgent',
    'ContentLengthMismatchError',
    'Cooperator',
    'DEFAULT_CLOSE_TIMEOUT',
    'DEFAULT_MAX_FRAME_BYTES',
    'DEFAULT_MAX_MESSAGE_BYTES',
    'Deferred',
    'DeferredList',
    'DeferredLock',
    'DeferredQueue',
    'DeferredSemaphore',
    'EndpointFileError',
    'EndpointSyntaxError',
    'ErrorPage',
    'Factory',
    'Failure',
    'FileBodyProducer',
    'FirstError',
    'ForbiddenResource',
    'FrameParser',
    'FrameTooLongError',
    'HTTPConnectionPool',
    'HTTPFactory',
    'HTTPParseError',
    'HeadersSentError',
    'HopByHopHeaderError',
    'Int32StringReceiver',
    'InvalidAppResultError',
    'InvalidArgumentError',
    'InvalidHeaderError',
    'InvalidRequestError',
    'InvalidStatusError',
    'LimitConnectionsFactory',
    'LineReceiver',
    'LogPublisher',
    'Logger',
    'LoopingCall',
    'LoopingCallStateError',
    'MemoryReactor',
    'NOT_DONE_YET',
    'NetstringReceiver',
    'NoClockError',
    'NoPauseOutputError',
    'NoProtocolError',
    'NoResource',
    'NodeReactor',
    'NotAcquiredError',
    'NotPaused',
    'ProducerAlreadyRegisteredError',
    'ProducerStoppedError',
    'Protocol',
    'QueueOverflow',
    'ReactorAlreadyRunning',
    'ReactorNotRunning',
    'ReconnectingClientFactory',
    'Redirect',
    'RedirectAgent',
    'RedirectWithNoLocation',
    'PoolQueueFull',
    'ProtocolSwitchError',
    'RenderResultError',
    'Request',
    'RequestFinishedError',
    'RequestTransmissionFailed',
    'Resource',
    'Response',
    'ResponseBodyConsumed',
    'ResponseBodyTooLarge',
    'ResponseDone',
    'ResponseEndedError',
    'ResponseFailed',
    'ResponseNeverReceived',
    'ResponseTimeout',
    'RingAborted',
    'RingClosed',
    'SchedulerStopped',
    'SchemeNotSupported',
    'ServeListenError',
    'ServeStyleError',
    'SpindleError',
    'StartResponseHeaderError',
    'StaticFile',
    'StartResponseStatusError',
    'StartResponseTwiceError',
    'StringTransport',
    'eventSource',
    'EventStream',
    'formatEvent',
    'EventFieldError',
    'EventStreamOverflowError',
    'iterEventSource',
    'IterEventStream', // web: server-sent events
    'TLSHandshakeError',
    'TLSStateError',
    'TLS_HANDSHAKE_TIMEOUT',
    'TRANSPORT_HIGH_WATER',
    'TaskDone',
    'TaskFailed',
    'TaskFinished',
    'TaskStopped',
    'ThreadPool',
    'ThreadPoolStopped',
    'ThreadedAppAborted',
    'TimeoutError',
    'TimeoutMixin',
    'TooManyRedirects',
    'TrustedProxies',
    'TrustedProxyError',
    'UNKNOWN_LENGTH',
    'UpgradeError',
    'ValidationError',
    'WSGIResource',
    'WebSocketCloseCodeError',
    'WebSocketClosedError',
    'WebSocketConnection',
    'WebSocketHandshakeError',
    'WebSocketProtocol',
    'WebSocketProtocolError',
    'WebSocketUnsupportedError',
    'WorkerCrashed',
    'WriteBufferOverflowError',
    'WrongBodyLength',
    'acceptKey',
    'acceptWebSocket',
    'connectWebSocket',
    'captureLogs',
    'clientFromString',
    'connectTLS',
    'connectUNIX',
    'cooperate',
    'deferLater',
    'deferToThread',
    'ensureDeferred',
    'errors',
    'fail',
    'fromFetchHandler',
    'gatherResults',
    'getReactor',
    'globalLogPublisher',
    'inlineCallbacks',
    'isWebSocketRequest',
    'jsonObserver',
    'listenTLS',
    'listenUNIX',
    'loopback',
    'maybeDeferred',
    'parseClientEndpoint',
    'parseServerEndpoint',
    'readBody',
    'redirectTo',
    'relayBody',
    'resourceFromCps',
    'reverseProxy',
    'serve',
    'serverFromString',
    'site',
    'succeed',
    'textObserver',
    'threadedIterApp',
    'toCpsApp',
    'toFetchHandler',
    'toIterApp',
    'toNodeListener',
    'WEBSOCKET_INPUT_HIGH_WATER',
    'validator',
    'waitFor',
  ],
  'spindle/reactor': [
    'AlreadyCalled',
    'AlreadyCalledError',
    'AlreadyCancelled',
    'ByteRing',
    'CONNECT_TIMEOUT',
    'COOPERATOR_SLICE',
    'CancelledError',
    'CannotListenError',
    'Clock',
    'ConnectError',
    'ConnectTimeoutError',
    'ConnectionDone',
    'ConnectionLost',
    'ConnectionRefusedError',
    'ConnectorStateError',
    'Cooperator',
    'DEFERRED_QUEUE_DEFAULT_BACKLOG',
    'DEFERRED_QUEUE_DEFAULT_SIZE',
    'Deferred',
    'DeferredList',
    'DeferredLock',
    'DeferredQueue',
    'DeferredSemaphore',
    'Failure',
    'FirstError',
    'InvalidArgumentError',
    'LOOPBACK_BUFFER_LIMIT',
    'LogPublisher',
    'Logger',
    'LoopingCall',
    'LoopingCallStateError',
    'MemoryReactor',
    'NoClockError',
    'NodeReactor',
    'NotAcquiredError',
    'NotPaused',
    'ProducerAlreadyRegisteredError',
    'ProducerStoppedError',
    'QueueOverflow',
    'ReactorAlreadyRunning',
    'ReactorNotRunning',
    'ResponseDone',
    'RingAborted',
    'RingClosed',
    'SHUTDOWN_TRIGGER_TIMEOUT',
    'SchedulerStopped',
    'SpindleError',
    'StringTransport',
    'THREAD_POOL_MAX_QUEUE',
    'THREAD_POOL_SIZE',
    'THREAD_POOL_STOP_TIMEOUT',
    'TLSHandshakeError',
    'TLSStateError',
    'TLS_HANDSHAKE_TIMEOUT',
    'TRANSPORT_HIGH_WATER',
    'TURN_TIME_BURST_GAP',
    'TURN_TIME_MAX_USES',
    'TaskDone',
    'TaskFailed',
    'TaskFinished',
    'TaskStopped',
    'ThreadPool',
    'ThreadPoolStopped',
    'TimeoutError',
    'WorkerCrashed',
    'captureLogs',
    'connectTLS',
    'connectUNIX',
    'cooperate',
    'default',
    'deferLater',
    'deferToThread',
    'ensureDeferred',
    'errors',
    'fail',
    'formatEvent',
    'gatherResults',
    'getDefaultThreadPool',
    'getReactor',
    'globalLogPublisher',
    'inlineCallbacks',
    'jsonObserver',
    'listenTLS',
    'listenUNIX',
    'loopback',
    'maybeDeferred',
    'succeed',
    'textObserver',
  ],
  'spindle/protocols': [
    'ACCEPT_WEBSOCKET',
    'Agent',
    'BadFrameError',
    'BodyAlreadyConsumedError',
    'BodyTooLargeError',
    'CLIENT_READ_AHEAD_BYTES',
    'CLOSE_ABNORMAL',
    'CLOSE_GOING_AWAY',
    'CLOSE_INTERNAL_ERROR',
    'CLOSE_INVALID_DATA',
    'CLOSE_NORMAL',
    'CLOSE_NO_STATUS',
    'CLOSE_POLICY',
    'CLOSE_PROTOCOL_ERROR',
    'CLOSE_TOO_BIG',
    'ChildNameError',
    'ClientFactory',
    'ContentDecoderAgent',
    'DecodedResponse',
    'DEFAULT_ACCEPT_ENCODING',
    'DEFAULT_CACHED_CONNECTION_TIMEOUT',
    'DEFAULT_CLIENT_READ_BUFFER',
    'DEFAULT_MAX_QUEUED_PER_HOST',
    'DEFAULT_CLOSE_TIMEOUT',
    'DEFAULT_CONNECT_TIMEOUT',
    'CONTENT_TYPES',
    'DEFAULT_CHUNK_SIZE',
    'DEFAULT_MAX_RANGES',
    'FileProducer',
    'StaticFile',
    'parseRange', // web: static files
    'EVENT_STREAM_HEADERS',
    'EventFieldError',
    'EventStream',
    'EventStreamOverflowError',
    'SSE_HEARTBEAT',
    'SSE_MAX_BUFFERED',
    'eventSource',
    'formatComment',
    'formatEvent', // web: server-sent events
    'DEFAULT_HEADER_TIMEOUT',
    'DEFAULT_IDLE_TIMEOUT',
    'DEFAULT_LINGER_MAX_BYTES',
    'DEFAULT_LINGER_TIMEOUT',
    'DEFAULT_MAX_BODY_BYTES',
    'DEFAULT_MAX_CHUNK_LINE_BYTES',
    'DEFAULT_MAX_CONNECTIONS',
    'DEFAULT_MAX_FRAME_BYTES',
    'DEFAULT_MAX_HEADER_BYTES',
    'DEFAULT_MAX_HEADER_COUNT',
    'DEFAULT_MAX_HELD_INPUT_BYTES',
    'DEFAULT_MAX_MESSAGE_BYTES',
    'DEFAULT_MAX_PERSISTENT_PER_HOST',
    'DEFAULT_MAX_REQUEST_LINE_BYTES',
    'DEFAULT_MAX_RESPONSE_BODY_BYTES',
    'DEFAULT_MAX_STATUS_LINE_BYTES',
    'DEFAULT_MAX_TRAILER_BYTES',
    'DEFAULT_PROXY_MAX_BUFFERED',
    'DEFAULT_PROXY_TIMEOUT',
    'DEFAULT_REDIRECT_LIMIT',
    'EndpointFileError',
    'EndpointSyntaxError',
    'ErrorPage',
    'FILE_BODY_CHUNK_SIZE',
    'Factory',
    'FileBodyProducer',
    'ForbiddenResource',
    'FrameParser',
    'FrameTooLongError',
    'HTTP11ClientProtocol',
    'HTTPConnectionPool',
    'HTTPFactory',
    'HTTPParseError',
    'HTTPParser',
    'Headers',
    'HeadersSentError',
    'INT32_MAX_LENGTH',
    'Int32StringReceiver',
    'InvalidHeaderError',
    'InvalidRequestError',
    'InvalidStatusError',
    'LINE_MAX_LENGTH',
    'LimitConnectionsFactory',
    'LineReceiver',
    'NETSTRING_MAX_LENGTH',
    'NOT_DONE_YET',
    'NetstringReceiver',
    'NoClockError',
    'NoProtocolError',
    'NoResource',
    'ParseErrorCodes',
    'Protocol',
    'REDIRECT_BODY_LIMIT',
    'RESPONSE_ITERATOR_HIGH_WATER',
    'ReconnectingClientFactory',
    'Redirect',
    'RedirectAgent',
    'RedirectWithNoLocation',
    'PoolQueueFull',
    'ProtocolSwitchError',
    'RenderResultError',
    'Request',
    'RequestFinishedError',
    'RequestTransmissionFailed',
    'Resource',
    'Response',
    'ResponseBodyConsumed',
    'ResponseBodyTooLarge',
    'ResponseFailed',
    'ResponseNeverReceived',
    'ResponseParser',
    'ResponseTimeout',
    'SchemeNotSupported',
    'TimeoutMixin',
    'TooManyRedirects',
    'TrustedProxies',
    'TrustedProxyError',
    'UNKNOWN_LENGTH',
    'UpgradeError',
    'WebSocketCloseCodeError',
    'WebSocketClosedError',
    'WebSocketConnection',
    'WebSocketHandshakeError',
    'WebSocketProtocol',
    'WebSocketProtocolError',
    'WebSocketUnsupportedError',
    'WrongBodyLength',
    'acceptKey',
    'acceptWebSocket',
    'connectWebSocket',
    'DEFAULT_HANDSHAKE_TIMEOUT',
    'MAX_HANDSHAKE_BYTES',
    'asWebRequest',
    'checkHandshake',
    'clientFromString',
    'encodeFrame',
    'errors',
    'escapeHtml',
    'forwardHeaders',
    'getChildForRequest',
    'isValidCloseCode',
    'isWebSocketRequest',
    'parseClientEndpoint',
    'parseServerEndpoint',
    'readBody',
    'redirectTo',
    'resolveForwarded',
    'resourceFromCps',
    'reverseProxy',
    'serverFromString',
    'site',
  ],
  'spindle/bridge': [
    'ASYNC_ITERABLE_KEY',
    'BRIDGE_HIGH_WATER',
    'BRIDGE_INPUT_CHUNK',
    'BRIDGE_INPUT_POLL',
    'BRIDGE_LOW_WATER',
    'BRIDGE_MAX_BUFFERED',
    'BRIDGE_READ_BODY_LIMIT',
    'BYTES_PER_TURN',
    'BodyBeforeStartResponseError',
    'BridgeError',
    'BridgeHostUnsupportedError',
    'BridgeNoReactorError',
    'BridgeOverflowError',
    'BridgeQueue',
    'ClientGoneError',
    'ContentLengthMismatchError',
    'DEFAULT_SERVE_HOST',
    'DEFAULT_SERVE_PORT',
    'ERRORS_LINE_LIMIT',
    'HopByHopHeaderError',
    'INPUT_HIGH_WATER',
    'InvalidAppResultError',
    'NoPauseOutputError',
    'PULLS_PER_TURN',
    'RELAY_BODY_HIGH_WATER',
    'ResponseEndedError',
    'SECONDS_PER_TURN',
    'ServeListenError',
    'ServeStyleError',
    'StartResponseHeaderError',
    'StartResponseStatusError',
    'StartResponseTwiceError',
    'THREAD_ABORT_TIMEOUT',
    'THREAD_IDLE_LINGER',
    'THREAD_INPUT_RING_SIZE',
    'THREAD_JOB_QUEUE_SIZE',
    'THREAD_MAX_PENDING_MESSAGES',
    'THREAD_RING_SIZE',
    'ThreadedAppAborted',
    'ValidationError',
    'WRITE_BUFFER_LIMIT',
    'WSGIResource',
    'WriteBufferOverflowError',
    'errors',
    'fromFetchHandler',
    'serve',
    'threadedIterApp',
    'toCpsApp',
    'toFetchHandler',
    'toIterApp',
    'toNodeListener',
    'validator',
    'WEBSOCKET_INPUT_HIGH_WATER',
    'relayBody',
    'waitFor',
    'iterEventSource',
    'IterEventStream', // web: server-sent events
  ],
  'spindle/testing': [
    'Clock',
    'DeferredResultError',
    'DummyRequest',
    'MemoryReactor',
    'StringTransport',
    'TimeoutMixin',
    'assertNoResult',
    'failureResultOf',
    'loopback',
    'makeEnviron',
    'successResultOf',
  ],
};

const entryModules: Record<string, Record<string, unknown>> = {
  spindle,
  'spindle/reactor': reactorEntry,
  'spindle/protocols': protocolsEntry,
  'spindle/bridge': bridgeEntry,
  'spindle/testing': testingEntry,
};

describe('the exact names of each entry point', () => {
  for (const [entry, module] of Object.entries(entryModules)) {
    it(`${entry} exports exactly its pinned names`, () => {
      const names = Object.keys(module).sort();
      const pinned = [...PINNED[entry]!].sort();
      expect({
        added: names.filter((n) => !pinned.includes(n)),
        removed: pinned.filter((n) => !names.includes(n)),
      }).toEqual({ added: [], removed: [] });
    });
  }

  it('one way to listen on TCP: the reactor method; no entry point exports a standalone listenTCP/connectTCP', () => {
    for (const module of Object.values(entryModules)) {
      expect('listenTCP' in module).toBe(false);
      expect('connectTCP' in module).toBe(false);
    }
    expect(typeof sharedReactor.listenTCP).toBe('function');
    expect(typeof sharedReactor.connectTCP).toBe('function');
    expect(typeof new spindle.MemoryReactor().listenTCP).toBe('function');
  });

  it('connection and parser internals are not public: HTTPChannel is exported by no entry point', () => {
    for (const module of Object.values(entryModules)) expect('HTTPChannel' in module).toBe(false);
  });
});

describe('errors as one namespace per layer', () => {
  const isErrorClass = (v: unknown) =>
    typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof Error;

  it('spindle/reactor, spindle/protocols and spindle/bridge each export `errors` holding the same classes they export by name', () => {
    for (const module of [reactorEntry, protocolsEntry, bridgeEntry] as Record<string, unknown>[]) {
      const ns = module.errors as Record<string, unknown>;
      expect(typeof ns).toBe('object');
      for (const [name, value] of Object.entries(module)) if (isErrorClass(value)) expect(ns[name], name).toBe(value);
    }
    expect(reactorEntry.errors.ConnectionLost).toBe(spindle.ConnectionLost);
    expect(protocolsEntry.errors.HTTPParseError).toBe(protocolsEntry.HTTPParseError);
    expect(bridgeEntry.errors.StartResponseTwiceError).toBe(bridgeEntry.StartResponseTwiceError);
  });

  it("the root `errors` namespace is every layer's errors together, each class with a stable code", () => {
    const root = spindle.errors as unknown as Record<string, unknown>;
    for (const ns of [reactorEntry.errors, protocolsEntry.errors, bridgeEntry.errors] as unknown as Record<
      string,
      unknown
    >[]) {
      for (const [name, value] of Object.entries(ns)) expect(root[name], name).toBe(value);
    }
    expect(new spindle.errors.CancelledError().code).toBe('ERR_CANCELLED');
  });
});

describe('examples import only the public entry points', () => {
  const ENTRY = /^(\.\.\/)+src\/(index|reactor\/index|protocols\/index|bridge\/index|testing\/index)\.js$/;
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
    );

  for (const file of files('examples')) {
    it(`${file} imports spindle only through 'spindle', 'spindle/reactor', 'spindle/protocols', 'spindle/bridge' or 'spindle/testing'`, () => {
      const specifiers = [
        ...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm),
      ].map((m) => m[1]!);
      const deep = specifiers.filter((s) => s.includes('/src/') && !ENTRY.test(s));
      expect(deep).toEqual([]);
    });
  }
});
