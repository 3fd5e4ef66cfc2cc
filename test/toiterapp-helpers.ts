/**
 * A hand-written iterator host for testing toIterApp without a gateway: it
 * builds an environ (a non-blocking wsgi.input fed by the test, input_handler,
 * pause_output, x-wsgiorg.flush), records startResponse, and pulls the
 * iterator only while its "client" wants data and the app has not paused.
 * Also `streamingApp`, the CPS app the toIterApp flow-control tests stream with.
 */
import type { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { IDelayedCall, IPushProducer } from '../src/reactor/interfaces.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { AppIterable, Chunk, Environ, IterApp, WsgiInput } from '../src/bridge/interfaces.js';

export class TestInput implements WsgiInput {
  private chunks: Uint8Array[] = [];
  ended = false;
  gone = false;
  reads = 0;
  onReadable: (() => void) | null = null;
  feed(data: string | Uint8Array): void {
    this.chunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.onReadable?.();
  }
  end(): void {
    this.ended = true;
    this.onReadable?.();
  }
  lose(): void {
    this.gone = true;
    this.onReadable?.();
  }
  read(size = -1): Uint8Array {
    this.reads++;
    const first = this.chunks[0];
    if (!first) return new Uint8Array(0);
    if (size < 0 || size >= first.byteLength) {
      this.chunks.shift();
      return first;
    }
    this.chunks[0] = first.subarray(size);
    return first.subarray(0, size);
  }
  readline(size?: number): Uint8Array {
    return this.read(size);
  }
  readlines(): Uint8Array[] {
    return [];
  }
  get atEOF(): boolean {
    return this.ended && this.chunks.length === 0;
  }
  get clientGone(): boolean {
    return this.gone;
  }
  *[Symbol.iterator](): Iterator<Uint8Array> {
    let c;
    while ((c = this.read()).byteLength) yield c;
  }
}

export interface HostOptions {
  pauseOutput?: boolean;
  asyncIterable?: boolean;
  reactor?: MemoryReactor;
  environ?: Partial<Environ>;
}

export class TestHost {
  readonly input = new TestInput();
  readonly environ: Environ;
  status: string | null = null;
  headers: [string, string][] = [];
  excInfo: unknown = undefined;
  startCalls = 0;
  flushes = 0;
  pauses = 0;
  paused = false;
  chunks: Chunk[] = [];
  done = false;
  error: unknown = undefined;
  /** The client reads: set false to stall it. */
  wanting = true;
  iterable!: AppIterable;
  private iterator: Iterator<Chunk> | null = null;

  constructor(
    private readonly reactor: MemoryReactor,
    options: HostOptions = {},
  ) {
    const input = this.input;
    this.environ = {
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: '/',
      QUERY_STRING: '',
      CONTENT_TYPE: '',
      CONTENT_LENGTH: '',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '192.0.2.7',
      REMOTE_PORT: '5555',
      HTTP_HOST: 'example.test:8080',
      'wsgi.version': [1, 0],
      'wsgi.url_scheme': 'http',
      'wsgi.input': input,
      'wsgi.errors': { write() {}, writelines() {}, flush() {} },
      'wsgi.multithread': false,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
      'wsgi.input_handler': (_i, onReadable) => {
        input.onReadable = onReadable;
      },
      'x-wsgiorg.flush': () => {
        this.flushes++;
      },
      'spindle.reactor': reactor,
      ...options.environ,
    } as Environ;
    if (options.pauseOutput !== false) {
      this.environ['wsgi.pause_output'] = () => {
        this.pauses++;
        this.paused = true;
        let used = false;
        // G13: resume is idempotent and never re-enters the app: the pull happens on a later turn.
        return () => {
          if (used) return;
          used = true;
          this.paused = false;
          this.reactor.callLater(0, () => this.pull());
        };
      };
    }
    if (options.asyncIterable) this.environ['spindle.async_iterable'] = true;
  }

  start(app: IterApp): this {
    this.iterable = app(this.environ, (status, headers, excInfo) => {
      this.startCalls++;
      this.status = status;
      this.headers = headers;
      this.excInfo = excInfo;
      return () => {
        throw new Error('write() not used by this host');
      };
    });
    return this;
  }

  /** Pull while the client wants data and the app did not pause (G5). */
  pull(): void {
    if (!this.iterator) this.iterator = (this.iterable as Iterable<Chunk>)[Symbol.iterator]();
    while (this.wanting && !this.paused && !this.done) {
      let r: IteratorResult<Chunk>;
      try {
        r = this.iterator.next();
      } catch (err) {
        this.error = err;
        this.done = true;
        return;
      }
      if (r.done) {
        this.done = true;
        return;
      }
      if (r.value !== '') this.chunks.push(r.value);
    }
  }

  close(): void {
    (this.iterable as { close?: () => void }).close?.();
  }

  body(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : new TextDecoder().decode(c))).join('');
  }

  bodyBytes(): number {
    return this.chunks.reduce((n, c) => n + (typeof c === 'string' ? c.length : c.byteLength), 0);
  }
}

/** What `streamingApp` did: its producer's calls in order, and the bytes it wrote. */
export interface StreamProbe {
  log: string[];
  written: number;
}

/**
 * A CPS app that streams `total` bytes in `chunk`-sized writes, one per reactor
 * turn, through a push producer that logs 'pause', 'resume' and 'stop' to `probe.log`.
 */
export function streamingApp(total: number, chunk: number, probe: StreamProbe | string[] = []): CpsApp {
  return (request) => {
    // A bare log counts bytes per request; a probe counts across the requests it is given to.
    const p: StreamProbe = Array.isArray(probe) ? { log: probe, written: 0 } : probe;
    let paused = false;
    let timer: IDelayedCall | null = null;
    const tick = (): void => {
      timer = null;
      if (paused) return;
      if (p.written >= total) {
        request.unregisterProducer();
        request.finish();
        return;
      }
      request.write(new Uint8Array(Math.min(chunk, total - p.written)).fill(120));
      p.written += chunk;
      timer = request.reactor.callLater(0, tick);
    };
    const producer: IPushProducer = {
      pauseProducing: () => {
        p.log.push('pause');
        paused = true;
      },
      resumeProducing: () => {
        p.log.push('resume');
        paused = false;
        if (!timer) timer = request.reactor.callLater(0, tick);
      },
      stopProducing: () => {
        p.log.push('stop');
        paused = true;
        if (timer?.active()) timer.cancel();
        timer = null;
      },
    };
    request.registerProducer(producer, true);
    timer = request.reactor.callLater(0, tick);
  };
}
