import { describe, expect, it } from 'vitest';
import { hadDefaultObserverAtStart } from './setup/capture-logs.js';
import { Clock } from '../src/reactor/clock.js';
import { Failure } from '../src/reactor/failure.js';
import {
  captureLogs,
  defaultTextObserver,
  eventAsJSON,
  filterObserver,
  formatEvent,
  LOG_LEVELS,
  globalLogPublisher,
  jsonObserver,
  LogPublisher,
  Logger,
  textObserver,
  type LogEvent,
} from '../src/reactor/log.js';

function setup() {
  const clock = new Clock();
  clock.advance(1_700_000_000);
  const publisher = new LogPublisher({ clock });
  const events: LogEvent[] = [];
  publisher.addObserver((e) => void events.push(e));
  return { clock, publisher, events, log: new Logger('test.ns', publisher) };
}

describe('Logger', () => {
  it('emits {level, namespace, message, time, ...fields} for each level', () => {
    const { log, events } = setup();
    log.debug('d');
    log.info('i', { user: 'ann' });
    log.warn('w');
    log.error('e');
    log.critical('c');
    expect(events.map((e) => e.level)).toEqual(['debug', 'info', 'warn', 'error', 'critical']);
    expect(events[1]).toEqual({ level: 'info', namespace: 'test.ns', message: 'i', time: 1_700_000_000, user: 'ann' });
  });

  it('fields cannot override level, namespace, message or time', () => {
    const { log, events } = setup();
    log.info('real', { level: 'critical', namespace: 'fake', message: 'fake', time: 0 });
    expect(events[0]).toMatchObject({ level: 'info', namespace: 'test.ns', message: 'real', time: 1_700_000_000 });
  });

  it('failure() attaches a Failure, critical by default', () => {
    const { log, events } = setup();
    const err = new Error('boom');
    log.failure('it broke', err);
    log.failure('warned', new Failure('s'), 'warn');
    expect(events[0]!.level).toBe('critical');
    expect(events[0]!.failure!.value).toBe(err);
    expect(events[1]!.level).toBe('warn');
    expect(events[1]!.failure!.value).toBe('s');
  });
});

describe('LogPublisher', () => {
  it('removeObserver stops delivery', () => {
    const { publisher, log } = setup();
    const got: string[] = [];
    const obs = (e: LogEvent) => void got.push(e.message);
    publisher.addObserver(obs);
    log.info('one');
    publisher.removeObserver(obs);
    log.info('two');
    expect(got).toEqual(['one']);
  });

  it('an observer that throws does not stop the others and is reported to them', () => {
    const { publisher, events, log } = setup();
    publisher.addObserver(function broken() {
      throw new Error('observer bug');
    });
    const after: string[] = [];
    publisher.addObserver((e) => void after.push(e.message));
    log.info('hello');
    expect(after[0]).toBe('hello');
    const report = events.find((e) => e.namespace === 'spindle.log')!;
    expect(report.level).toBe('error');
    expect(report.message).toContain('broken');
    expect(report.failure!.getErrorMessage()).toBe('observer bug');
    expect(after).toContain(report.message);
  });
});

describe('observers', () => {
  it('textObserver writes a line with time, namespace, level and the traceback', () => {
    const { publisher, log } = setup();
    const out: string[] = [];
    publisher.addObserver(textObserver((t) => out.push(t)));
    log.failure('bad thing', new Error('why'), 'error');
    expect(out[0]).toMatch(/^2023-11-14T22:13:20\.000Z \[test\.ns#error\] bad thing\nError: why\n/);
    expect(formatEvent({ level: 'info', namespace: 'n', message: 'm', time: 0 })).toBe(
      '1970-01-01T00:00:00.000Z [n#info] m\n',
    );
  });

  it('jsonObserver writes one JSON line per event, with failure as {type, message, stack}', () => {
    const { publisher, log } = setup();
    const lines: string[] = [];
    publisher.addObserver(jsonObserver((l) => lines.push(l)));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.failure('j', new RangeError('r'), 'error', { n: 10n, cyclic });
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(lines[0]!);
    expect(parsed).toMatchObject({
      level: 'error',
      namespace: 'test.ns',
      message: 'j',
      n: '10',
      cyclic: { self: '[Circular]' },
    });
    expect(parsed.failure.type).toBe('RangeError');
    expect(parsed.failure.message).toBe('r');
    expect(parsed.failure.stack).toContain('log.test.ts');
    expect(JSON.parse(eventAsJSON({ level: 'info', namespace: 'n', message: 'm', time: 1 }))).toEqual({
      level: 'info',
      namespace: 'n',
      message: 'm',
      time: 1,
    });
  });

  it('filterObserver passes on only events at or above its level', () => {
    const { publisher, log } = setup();
    const got: string[] = [];
    publisher.addObserver(filterObserver((e) => void got.push(e.level), 'warn'));
    for (const level of LOG_LEVELS) log.emit(level, level);
    expect(got).toEqual(['warn', 'error', 'critical']);
  });

  it('globalLogPublisher starts with the text observer; captureLogs swaps it out and restore puts it back', () => {
    // The test setup (test/setup/capture-logs.ts) took it off at start; put it back for this check.
    expect(hadDefaultObserverAtStart).toBe(true);
    globalLogPublisher.addObserver(defaultTextObserver);
    try {
      const cap = captureLogs();
      expect(globalLogPublisher.observers()).not.toContain(defaultTextObserver);
      new Logger('cap').warn('captured');
      expect(cap.events.map((e) => e.message)).toEqual(['captured']);
      cap.restore();
      expect(globalLogPublisher.observers()).toContain(defaultTextObserver);
    } finally {
      globalLogPublisher.removeObserver(defaultTextObserver);
    }
  });
});
