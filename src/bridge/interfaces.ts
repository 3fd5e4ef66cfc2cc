/**
 * The iterator-app contract (the WSGI shape, PEP 3333, in TypeScript) and the
 * asynchronous extensions spindle's gateways offer.
 *
 * An app is called with an environ and `startResponse`, and returns an iterable
 * of body chunks that the gateway pulls, only while the client wants data. The
 * returned iterable's `close()` (or an iterator's `return()`) is called exactly
 * once however the response ends. See shared GATEWAY-RULES.md G1-G16.
 */
import type { IReactor } from '../reactor/interfaces.js';
import type { AcceptWebSocketOptions, WebSocketMessage } from '../protocols/websocket/interfaces.js';

/** A body chunk: bytes, or a string sent as UTF-8. An empty chunk is a yield point (G4). */
export type Chunk = Uint8Array | string;

/** The `write()` callable `startResponse` returns (push-style output, G12). */
export type WriteFn = (chunk: Chunk) => void;

/**
 * `startResponse(status, headers, excInfo?)`: status is 'NNN Reason'; headers
 * are (name, value) pairs. A second call throws unless `excInfo` (the caught
 * error itself) is given (G2).
 */
export type StartResponse = (status: string, headers: [string, string][], excInfo?: unknown) => WriteFn;

/** What an app returns. `close()` on it (if present) is called exactly once (G7). */
export type AppIterable = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?: () => void };

export type IterApp = (environ: Environ, startResponse: StartResponse) => AppIterable;

/**
 * `wsgi.input`. On the reactor thread `read()` never blocks: it returns what
 * has arrived (possibly empty), and `atEOF` / `clientGone` tell why it is
 * short. On a worker thread (threadedIterApp) it blocks until data or the end.
 */
export interface WsgiInput extends Iterable<Uint8Array> {
  /** At most `size` bytes (all available when omitted or negative). Empty at the end. */
  read(size?: number): Uint8Array;
  /** One line including its '\n', at most `size` bytes. */
  readline(size?: number): Uint8Array;
  readlines(hint?: number): Uint8Array[];
  /** True once the whole body has arrived and been read. */
  readonly atEOF: boolean;
  /** True once the client went away before the body ended. */
  readonly clientGone: boolean;
}

/** `wsgi.errors`: a text sink; spindle routes it to the Logger. */
export interface WsgiErrors {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** `wsgi.pause_output()`: returns the `resume` callable (idempotent, G13). */
export type PauseOutput = () => () => void;

/**
 * `wsgi.input_handler(input, onReadable)`: call back when body bytes or the
 * end arrive (G15); given an accepted WebSocket's input, when a message
 * arrives or the connection ends.
 */
export type InputHandler = (input: WsgiInput | WebSocketInput, onReadable: () => void) => void;

/** `accept()`'s options: the handshake's and the connection's, and the bound on unread input. */
export interface EnvironWebSocketOptions extends AcceptWebSocketOptions {
  /** Bytes of received, unread messages held before the socket stops being read. Default `WEBSOCKET_INPUT_HIGH_WATER` (1 MiB). */
  inputHighWater?: number;
}

/** What an iterator app finds at `environ['spindle.websocket']`. */
export interface EnvironWebSocket {
  /**
   * Answer the handshake: `101` and the WebSocket is open (returns its
   * message input), or, for a malformed handshake, a 400/403/426 the app need
   * not send itself (returns null; the app should return an empty iterable).
   * Call before `startResponse`, at most once.
   */
  accept(options?: EnvironWebSocketOptions): WebSocketInput | null;
}

/** The incoming side of an accepted WebSocket (and its controls). */
export interface WebSocketInput {
  /** The next received message, or null when none is waiting. Never blocks. */
  receive(): WebSocketMessage | null;
  /** Be called back (on a later turn, never inside this call) when a message arrives or the connection ends. Replaces an earlier callback. */
  onReadable(callback: () => void): void;
  /** True once the connection ended: nothing more will arrive (messages already received can still be read). */
  readonly closed: boolean;
  /** The peer's close code once closed (1005 no code, 1006 no closing handshake), else null. */
  readonly closeCode: number | null;
  readonly closeReason: string;
  readonly subprotocol: string | null;
  /** Start the closing handshake now (the iterable's end does it with 1000). */
  close(code?: number, reason?: string): void;
  ping(payload?: WebSocketMessage): void;
}

export interface Environ {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  CONTENT_TYPE: string;
  CONTENT_LENGTH: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  REMOTE_PORT?: string;
  /** 'on' when the request came over TLS (the CGI convention); absent otherwise. */
  HTTPS?: 'on';
  'wsgi.version': [number, number];
  'wsgi.url_scheme': 'http' | 'https';
  'wsgi.input': WsgiInput;
  'wsgi.errors': WsgiErrors;
  'wsgi.multithread': boolean;
  'wsgi.multiprocess': boolean;
  'wsgi.run_once': boolean;
  'wsgi.pause_output'?: PauseOutput;
  'wsgi.input_handler'?: InputHandler;
  'x-wsgiorg.flush'?: () => void;
  'spindle.reactor'?: IReactor;
  /** Only on a request asking for a WebSocket (Upgrade: websocket), on hosts that can hand over the connection. */
  'spindle.websocket'?: EnvironWebSocket;
  /** HTTP_* and any other keys. */
  [key: string]: unknown;
}
