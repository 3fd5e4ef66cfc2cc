/**
 * Vitest setup file (vitest.config.ts `setupFiles`): spindle's log events
 * published in a test process go here instead of to stderr, so `npm test`
 * prints results, not reactor or retry lines. Nothing is lost:
 * - every event (every level, debug included) is kept, under the test that was
 *   running when it was published, or under "(outside any test)";
 * - a failed test's events are printed with it, on stderr;
 * - all of them are written to `.vitest-logs/<test file>.log` (one file per
 *   test file, rewritten on each run; the folder is ignored by git).
 * `SPINDLE_TEST_LOGS=stderr npm test` leaves the default text observer on, to
 * watch the lines live. Child processes a test starts log on their own
 * stderr, which the test reads.
 */
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTextObserver, formatEvent, globalLogPublisher, type LogEvent } from '../../src/reactor/log.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where each test file's captured events go. */
export const TEST_LOG_DIR = join(ROOT, '.vitest-logs');
export const OUTSIDE_TESTS = '(outside any test)';

/** Whether the default text observer was on when this process started (the library's default). */
export const hadDefaultObserverAtStart = globalLogPublisher.observers().includes(defaultTextObserver);
const live = process.env.SPINDLE_TEST_LOGS === 'stderr';
if (!live) globalLogPublisher.removeObserver(defaultTextObserver);

let testName = OUTSIDE_TESTS;
let events: LogEvent[] = [];
/** Events per test name, in the order the tests ran; read by test/test-log-capture.test.ts. */
export const capturedByTest = new Map<string, LogEvent[]>();
let published = 0;
/** How many events the publisher delivered to the capture in this process. */
export const capturedCount = (): number => published;

globalLogPublisher.addObserver(function captureTestLogs(event) {
  published++;
  events.push(event);
});

let logFile: string | undefined;
function logFileFor(): string {
  if (logFile === undefined) {
    const testPath = expect.getState().testPath ?? 'unknown';
    logFile = join(TEST_LOG_DIR, `${relative(ROOT, testPath).replace(/[\\/]/g, '_')}.log`);
    mkdirSync(TEST_LOG_DIR, { recursive: true });
    rmSync(logFile, { force: true });
  }
  return logFile;
}

/** The text printed for `name`'s events (each formatted as the default observer would). */
export function formatCaptured(name: string, list: LogEvent[]): string {
  return `--- spindle log events during ${name} (${list.length}) ---\n${list.map(formatEvent).join('')}`;
}

function settle(name: string, print: boolean): void {
  const list = events;
  events = [];
  if (list.length === 0) return;
  capturedByTest.set(name, [...(capturedByTest.get(name) ?? []), ...list]);
  const text = formatCaptured(name, list);
  appendFileSync(logFileFor(), text);
  if (print) process.stderr.write(text);
}

beforeEach((ctx) => {
  settle(OUTSIDE_TESTS, false); // e.g. from a beforeAll, or a previous test's late callbacks
  testName = ctx.task.name;
});

afterEach((ctx) => {
  settle(testName, ctx.task.result?.state === 'fail');
  testName = OUTSIDE_TESTS;
});

afterAll(() => {
  settle(OUTSIDE_TESTS, false);
});
