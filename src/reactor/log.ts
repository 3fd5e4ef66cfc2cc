/**
 * Structured logging (Twisted's `twisted.logger`, in small). A `Logger` makes
 * events `{ level, namespace, message, time, failure?, ...fields }` and hands them
 * to a `LogPublisher`, which passes each event to every observer. An observer
 * that throws does not stop the others: the error is reported to the remaining
 * observers as an 'error' event in the `spindle.log` namespace.
 *
 * `globalLogPublisher` starts with `defaultTextObserver` (text to stderr).
 * Remove it with `globalLogPublisher.removeObserver(defaultTextObserver)`, or,
 * in tests, use `captureLogs()` which swaps it for an in-memory list.
 */
import { EventEmitter } from 'eventemitter3';
import { Failure } from './failure.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'critical';

export interface LogEvent {
  level: LogLevel;
  namespace: string;
  message: string;
  /** Seconds since the epoch (or on the injected clock). */
  time: number;
  failure?: Failure;
  [field: string]: unknown;
}

export type LogObserver = (event: LogEvent) => void;

/** Anything with `seconds()`, e.g. an `IReactorTime` or `Clock`. */
export interface LogClock {
  seconds(): number;
}

const wallClock: LogClock = { seconds: () => Date.now() / 1000 };
const EVENT = 'log';

export class LogPublisher {
  private readonly emitter = new EventEmitter();
  /** Where `Logger`s read `time` from; wall-clock by default (log timestamps only). */
  clock: LogClock;

  constructor(options: { clock?: LogClock } = {}) {
    this.clock = options.clock ?? wallClock;
  }

  addObserver(observer: LogObserver): void {
    this.emitter.on(EVENT, observer);
  }

  removeObserver(observer: LogObserver): void {
    this.emitter.off(EVENT, observer);
  }

  /** The observers, in the order they were added. */
  observers(): LogObserver[] {
    return this.emitter.listeners(EVENT) as LogObserver[];
  }

  /**
   * Pass `event` to every observer. An observer that throws is reported, after
   * everyone has had the event, to the observers that did not throw.
   */
  publish(event: LogEvent): void {
    const observers = this.observers();
    let broken: Array<[LogObserver, unknown]> | null = null;
    for (const observer of observers) {
      try {
        observer(event);
      } catch (err) {
        (broken ??= []).push([observer, err]);
      }
    }
    if (broken === null) return;
    const healthy = observers.filter((o) => !broken.some(([b]) => b === o));
    for (const [observer, err] of broken) {
      const report: LogEvent = {
        level: 'error',
        namespace: 'spindle.log',
        message: `log observer ${observer.name || '(anonymous)'} threw while handling an event; it was skipped`,
        time: this.clock.seconds(),
        failure: Failure.from(err),
        originalEvent: event,
      };
      for (const other of healthy) {
        try {
          other(report);
        } catch {
          // An observer that fails on the report too is ignored: there is no one left to tell.
        }
      }
    }
  }
}

/** Format one event as a line of text (plus the traceback when it has a failure). */
export function formatEvent(event: LogEvent): string {
  const when = new Date(event.time * 1000).toISOString();
  let text = `${when} [${event.namespace}#${event.level}] ${event.message}\n`;
  if (event.failure) text += `${event.failure.getTraceback()}\n`;
  return text;
}

/** An observer that writes `formatEvent(event)` with `write` (stderr by default). */
export function textObserver(write: (text: string) => void = (t) => void process.stderr.write(t)): LogObserver {
  return function textLogObserver(event) {
    write(formatEvent(event));
  };
}

/**
 * An observer that writes each event as one JSON line. The failure becomes
 * `{ type, message, stack }`; bigints become strings; cycles become "[Circular]".
 */
export function jsonObserver(write: (line: string) => void): LogObserver {
  return function jsonLogObserver(event) {
    write(`${eventAsJSON(event)}\n`);
  };
}

export function eventAsJSON(event: LogEvent): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(event, (_key, value: unknown) => {
    if (value instanceof Failure) {
      return {
        type: (value.type as { name?: string } | undefined)?.name ?? typeof value.value,
        message: value.getErrorMessage(),
        stack: value.stack,
      };
    }
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  });
}

/** Levels from least to most severe. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'critical'];

/** An observer that passes on only events at `minLevel` or more severe. */
export function filterObserver(observer: LogObserver, minLevel: LogLevel): LogObserver {
  const min = LOG_LEVELS.indexOf(minLevel);
  return function filteredLogObserver(event) {
    if (LOG_LEVELS.indexOf(event.level) >= min) observer(event);
  };
}

/** The level below which `defaultTextObserver` stays quiet. */
export const DEFAULT_TEXT_LOG_LEVEL: LogLevel = 'info';

/** The text observer `globalLogPublisher` starts with: stderr, `info` and above. */
export const defaultTextObserver: LogObserver = filterObserver(textObserver(), DEFAULT_TEXT_LOG_LEVEL);

/** The publisher every `Logger` uses unless given another. */
export const globalLogPublisher = new LogPublisher();
globalLogPublisher.addObserver(defaultTextObserver);

export class Logger {
  constructor(
    readonly namespace: string,
    readonly publisher: LogPublisher = globalLogPublisher,
  ) {}

  emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.publisher.publish({
      ...fields,
      level,
      namespace: this.namespace,
      message,
      time: this.publisher.clock.seconds(),
    });
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.emit('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('error', message, fields);
  }
  critical(message: string, fields?: Record<string, unknown>): void {
    this.emit('critical', message, fields);
  }

  /** Log a failure (a `Failure` or any thrown value) with its traceback, at `level`. */
  failure(message: string, failure: unknown, level: LogLevel = 'critical', fields?: Record<string, unknown>): void {
    this.emit(level, message, { ...fields, failure: Failure.from(failure) });
  }
}

/**
 * For tests: collect events published on `publisher` and keep the default text
 * observer quiet until `restore()`.
 */
export function captureLogs(publisher: LogPublisher = globalLogPublisher): { events: LogEvent[]; restore(): void } {
  const events: LogEvent[] = [];
  const hadDefault = publisher.observers().includes(defaultTextObserver);
  if (hadDefault) publisher.removeObserver(defaultTextObserver);
  const collect: LogObserver = (e) => void events.push(e);
  publisher.addObserver(collect);
  return {
    events,
    restore() {
      publisher.removeObserver(collect);
      if (hadDefault) publisher.addObserver(defaultTextObserver);
    },
  };
}
