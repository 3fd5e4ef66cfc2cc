/**
 * A Deferred garbage-collected while holding an unhandled Failure is logged.
 * Runs in a child `node --expose-gc --import tsx` so the test can force real
 * collections with gc() and wait a bounded number of event-loop turns for the
 * FinalizationRegistry callbacks (no timers, no wall-clock windows).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const deferredUrl = pathToFileURL(`${root}src/reactor/deferred.ts`).href;
const logUrl = pathToFileURL(`${root}src/reactor/log.ts`).href;

const script = `
import { Deferred, fail } from ${JSON.stringify(deferredUrl)};
import { captureLogs } from ${JSON.stringify(logUrl)};
const cap = captureLogs();
function scenarios() {
  fail(new Error('lost error'));                                   // never handled: logged
  fail(new Error('handled')).addErrback(() => null);              // handled by an errback
  fail(new Error('observed')).then(null, () => {});               // observed by then()
  const d = new Deferred(); d.addCallback(() => { throw new TypeError('thrown in callback'); }); d.callback(1); // logged
  const e = new Deferred(); e.addErrback(() => 'recovered'); e.errback(new Error('recovered'));                 // handled
  const inner = fail(new Error('taken over')); const outer = new Deferred(); outer.addCallback(() => inner); outer.callback(0); // moved to outer, outer logs
  fail('not an Error');                                            // logged with a stack too
}
scenarios();
const want = 4;
for (let turn = 0; turn < 50 && cap.events.length < want; turn++) {
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
}
for (let turn = 0; turn < 5; turn++) { globalThis.gc(); await new Promise((resolve) => setImmediate(resolve)); }
process.stdout.write(JSON.stringify(cap.events.map((e) => ({
  level: e.level, namespace: e.namespace, message: e.message,
  value: e.failure && (e.failure.value instanceof Error ? e.failure.value.message : e.failure.value),
  stack: e.stack,
}))));
`;

describe('unhandled errors in garbage-collected Deferreds', () => {
  it('are logged once each with level critical, the failure and its stack; handled ones are not', () => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
        // A synchronous child blocks vitest's own test timeout: a hung child must fail the
        // test (execFileSync throws on the kill) instead of hanging the whole run.
        timeout: 15_000,
        killSignal: 'SIGKILL',
      },
    );
    const events = JSON.parse(out) as Array<{
      level: string;
      namespace: string;
      message: string;
      value: unknown;
      stack: string;
    }>;
    const values = events.map((e) => e.value).sort();
    expect(values).toEqual(['lost error', 'not an Error', 'taken over', 'thrown in callback']);
    for (const e of events) {
      expect(e.level).toBe('critical');
      expect(e.namespace).toBe('spindle.deferred');
      expect(e.message).toContain('Unhandled error in Deferred');
      expect(e.stack).toContain('[eval');
    }
    const lost = events.find((e) => e.value === 'lost error')!;
    expect(lost.stack).toMatch(/^Error: lost error\n/);
    expect(lost.message).toContain('Error: lost error');
  });
});
