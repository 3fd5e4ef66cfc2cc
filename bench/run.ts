/**
 * `npm run bench [-- --quick] [-- NAME...] [-- --save FILE] [-- --compare BASE.json]`:
 * runs every benchmark in bench/ (or those named) and prints one table of
 * spindle against its same-run baseline; `--save` keeps the rows as JSON and
 * `--compare` prints each row's change against a saved run (bench/compare.ts).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { compareTable, loadAverage, readRun, saveRun, type SavedRow } from './compare.js';
import { ratio, type Benchmark } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
/** The value after `--NAME` (or of `--NAME=VALUE`). */
function option(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
const saveTo = option('save');
const compareWith = option('compare');
const wanted = args.filter((a, i) => !a.startsWith('--') && !['--save', '--compare'].includes(args[i - 1] ?? ''));
/** Modules in bench/ that are not benchmarks. */
const TOOLS = ['harness.ts', 'run.ts', 'compare.ts', 'plot.ts', 'profile.ts', 'ab.ts'];

const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !TOOLS.includes(f) && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const USAGE = `usage: npm run bench [-- --quick] [-- NAME...] [-- --save FILE] [-- --compare BASE.json]\nbenchmarks: ${names.join(' ')}\n`;
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// A mistyped name or option would otherwise run nothing, or everything (minutes of load).
const unknown = [
  ...args.filter(
    (a) => a.startsWith('-') && !['quick', 'save', 'compare'].includes(a.replace(/^--?/, '').split('=')[0]!),
  ),
  ...wanted.filter((n) => !names.includes(n)),
];
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown ${unknown.map((a) => JSON.stringify(a)).join(', ')}\n${USAGE}`);
  process.exit(2);
}
const files = names.filter((n) => wanted.length === 0 || wanted.includes(n)).map((n) => `${n}.ts`);

const base = compareWith ? readRun(compareWith) : null; // read first: a missing file fails before the run
const rows: SavedRow[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Benchmark };
  process.stderr.write(`running ${file} (${mod.default.title})...\n`);
  for (const r of await mod.default.run({ quick })) rows.push({ ...r, bench: file.replace(/\.ts$/, '') });
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, load ${loadAverage()}${quick ? ', quick run' : ''}`,
);
console.log('| bench | measure | spindle | baseline | unit | ratio (>1 = spindle better) | target | note |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.bench} | ${r.name} | ${fmt(r.spindle)} | ${fmt(r.baseline)} (${r.baselineName}) | ${r.unit} | ${ratio(r).toFixed(2)}x | ${r.target ?? ''} | ${r.note ?? ''} |`,
  );
}

if (saveTo) {
  saveRun(saveTo, rows, quick);
  console.log(`\nsaved to ${saveTo}`);
}
if (base) console.log(`\n${compareTable(base, rows)}`);
