/**
 * The long soak runs (`npm run soak`, i.e. `tsx bench/soak/run.ts`): every
 * reliability attack at full size, one after another, and a figures table.
 * A row's "leaks" counts counters not back to zero, iterables not closed,
 * errors logged, failed normal clients and broken bounds: it must be 0.
 *
 *     npx tsx bench/soak/run.ts            # full (a few minutes)
 *     npx tsx bench/soak/run.ts --quick    # small sizes, a smoke run
 *     npx tsx bench/soak/run.ts --only=faults,load
 */
import { captureLogs } from '../../src/reactor/log.js';
import { load, shutdownUnderLoad } from './load.js';
import { connectionFlood, faults, fuzz, pipelined, slowLoris, type Row } from './steps.js';

const quick = process.argv.includes('--quick');
const only =
  process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? null;
const size = (full: number, small: number) => (quick ? small : full);

const steps: Array<[string, () => Promise<Row>]> = [
  ['faults', () => faults('iter', size(1000, 200))],
  ['faults', () => faults('cps', size(1000, 200))],
  ['limits', () => connectionFlood(size(2000, 300), size(500, 100))],
  ['slowloris', () => slowLoris('iter', size(500, 100), size(5, 2))],
  ['slowloris', () => slowLoris('cps', size(500, 100), size(5, 2))],
  ['fuzz', () => fuzz('iter', size(3000, 300))],
  ['fuzz', () => fuzz('cps', size(3000, 300))],
  ['pipelined', () => pipelined('cps', size(1_000_000, 20_000))],
  ['pipelined', () => pipelined('iter', size(1_000_000, 20_000))],
  ['load', () => load('/iter', size(30, 3))],
  ['load', () => load('/cps', size(30, 3))],
  ['shutdown', () => shutdownUnderLoad(20, 3)],
  ['shutdown', () => shutdownUnderLoad(20, 10)],
];

function table(rows: Row[]): string {
  const head =
    '| step | load held / inputs | faults injected | leaks found | figures |\n| --- | --- | --- | --- | --- |';
  return [head, ...rows.map((r) => `| ${r.step} | ${r.load} | ${r.faults} | ${r.leaks} | ${r.figure.trim()} |`)].join(
    '\n',
  );
}

// The attacks make the server log (info/warn) by design; keep stderr for the table's sake.
const logs = captureLogs();
const rows: Row[] = [];
const started = performance.now();
for (const [name, step] of steps) {
  if (only !== null && !only.includes(name)) continue;
  const t0 = performance.now();
  try {
    const row = await step();
    rows.push(row);
    process.stderr.write(`${row.step}: leaks ${row.leaks} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  } catch (err) {
    rows.push({
      step: name,
      load: '-',
      faults: 0,
      leaks: 1,
      figure: `FAILED: ${err instanceof Error ? err.message : String(err)}`,
    });
    process.stderr.write(`${name}: FAILED ${String(err)}\n`);
  }
}
logs.restore();
const leaks = rows.reduce((a, r) => a + r.leaks, 0);
console.log(table(rows));
console.log(
  `\n${rows.length} steps in ${((performance.now() - started) / 1000).toFixed(0)} s on Node ${process.version}; leaks found: ${leaks}`,
);
process.exit(leaks === 0 ? 0 : 1);
