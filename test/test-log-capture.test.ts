/**
 * Issue 12 item 13: `npm test` printed reactor and retry log lines among the
 * results. The setup file (test/setup/capture-logs.ts) captures spindle's log
 * events instead; these tests show that nothing is lost on the way: every
 * event is kept under its test (debug included), none reaches stderr, a failed
 * test's events are printed with it, and all are in the file's log.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { Logger, LOG_LEVELS, globalLogPublisher, defaultTextObserver } from '../src/reactor/log.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { capturedByTest, capturedCount, formatCaptured, OUTSIDE_TESTS, TEST_LOG_DIR } from './setup/capture-logs.js';

const FIRST = 'logs one event per level and a reactor error, none of them on stderr';

describe('log capture during tests', () => {
  it(FIRST, () => {
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const before = capturedCount();
      const log = new Logger('capture.test');
      for (const level of LOG_LEVELS) log.emit(level, `marker ${level}`);
      // A reactor's delayed call that throws: logged on spindle.reactor, as in the tests that printed it.
      const reactor = new NodeReactor();
      reactor.callLater(0, () => {
        throw new Error('boom in a delayed call');
      });
      (reactor as unknown as { runPass: () => void }).runPass();
      expect(capturedCount() - before).toBe(LOG_LEVELS.length + 1);
      expect(stderr).not.toHaveBeenCalled();
      expect(globalLogPublisher.observers()).not.toContain(defaultTextObserver);
    } finally {
      stderr.mockRestore();
    }
  });

  it('kept every event of the previous test under its name, in order, and wrote them to the log file', () => {
    const kept = capturedByTest.get(FIRST) ?? [];
    expect(kept.map((e) => e.message)).toEqual([
      ...LOG_LEVELS.map((l) => `marker ${l}`),
      expect.stringMatching(/unhandled error in delayed call/),
    ]);
    expect(kept.at(-1)!.namespace).toBe('spindle.reactor');
    const file = readFileSync(`${TEST_LOG_DIR}/test_test-log-capture.test.ts.log`, 'utf8');
    expect(file).toContain(formatCaptured(FIRST, kept));
    expect(capturedByTest.has(OUTSIDE_TESTS)).toBe(false);
  });

  it("formats a failed test's events as the default observer would, tracebacks included", () => {
    const log = new Logger('capture.format');
    const sink: Parameters<typeof formatCaptured>[1] = [];
    const collect = (e: (typeof sink)[number]) => void sink.push(e);
    globalLogPublisher.addObserver(collect);
    try {
      log.failure('it broke', new Error('with a stack'), 'error');
    } finally {
      globalLogPublisher.removeObserver(collect);
    }
    const text = formatCaptured('a test', sink);
    expect(text).toMatch(
      /^--- spindle log events during a test \(1\) ---\n.*\[capture\.format#error\] it broke\n[\s\S]*Error: with a stack/,
    );
  });
});
