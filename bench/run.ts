/**
 * `npm run bench [-- --quick] [-- NAME...]`: runs every benchmark in bench/ (or
 * those named) and prints one table of spindle against its same-run baseline.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { ratio, type Benchmark, type BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));

const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['harness.ts', 'run.ts'].includes(f) && !f.startsWith('_'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, '')))
  .sort();

const rows: Array<BenchResult & { bench: string }> = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Benchmark };
  process.stderr.write(`running ${file} (${mod.default.title})...\n`);
  for (const r of await mod.default.run({ quick })) rows.push({ ...r, bench: file.replace(/\.ts$/, '') });
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}${quick ? ', quick run' : ''}`);
console.log('| bench | measure | spindle | baseline | unit | ratio (>1 = spindle better) | target | note |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.bench} | ${r.name} | ${fmt(r.spindle)} | ${fmt(r.baseline)} (${r.baselineName}) | ${r.unit} | ${ratio(r).toFixed(2)}x | ${r.target ?? ''} | ${r.note ?? ''} |`);
}
