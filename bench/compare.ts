/**
 * Saved benchmark runs: `npm run bench -- NAME --save FILE` writes a run's rows
 * as JSON; `--compare BASE.json` prints each row's change against a saved run,
 * so a change to a hot path shows its cost in its own commit. Rows match by
 * benchmark and measure name. Two changes are shown: the spindle figure itself
 * (moves with the machine's load) and its ratio to the same-run baseline (the
 * steadier one on a shared machine).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ratio, type BenchResult } from './harness.js';

export type SavedRow = BenchResult & { bench: string };

export interface SavedRun {
  commit: string;
  date: string;
  /** /proc/loadavg's three figures when the run ended. */
  load: string;
  machine: string;
  node: string;
  quick: boolean;
  rows: SavedRow[];
}

/** Changes smaller than this (either way) are reported as noise. */
export const NOISE = 0.1;

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).replace(/\n$/, '');
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  }
}

export function saveRun(file: string, rows: SavedRow[], quick: boolean): void {
  const run: SavedRun = {
    commit: commitOf(),
    date: new Date().toISOString(),
    load: loadAverage(),
    machine: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}`,
    node: process.version,
    quick,
    rows,
  };
  writeFileSync(file, `${JSON.stringify(run, null, 1)}\n`);
}

export function readRun(file: string): SavedRun {
  return JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
}

/** Improvement factor from `before` to `after` (> 1 = better), for a figure where larger is `higherIsBetter`. */
export function change(before: number, after: number, higherIsBetter: boolean): number {
  return higherIsBetter ? after / before : before / after;
}

function verdict(f: number): string {
  if (!Number.isFinite(f)) return '';
  if (f > 1 + NOISE) return 'better';
  if (f < 1 - NOISE) return '**worse**';
  return 'noise';
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
const pct = (f: number) => (Number.isFinite(f) ? `${f >= 1 ? '+' : ''}${((f - 1) * 100).toFixed(0)}%` : '');

/** The markdown table of `rows` against the saved run `base`. */
export function compareTable(base: SavedRun, rows: SavedRow[]): string {
  const before = new Map(base.rows.map((r) => [`${r.bench}\u0000${r.name}`, r]));
  const out = [
    `against ${base.commit} (${base.date}, load ${base.load}); now load ${loadAverage()}; noise band ±${NOISE * 100}%`,
    '| bench | measure | unit | before | after | change | ratio before | ratio after | ratio change | verdict (ratio) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const b = before.get(`${r.bench}\u0000${r.name}`);
    if (!b) {
      out.push(`| ${r.bench} | ${r.name} | ${r.unit} | (new) | ${fmt(r.spindle)} | | | ${ratio(r).toFixed(2)}x | | |`);
      continue;
    }
    const c = change(b.spindle, r.spindle, r.higherIsBetter);
    const rc = ratio(r) / ratio(b);
    out.push(
      `| ${r.bench} | ${r.name} | ${r.unit} | ${fmt(b.spindle)} | ${fmt(r.spindle)} | ${pct(c)} | ${ratio(b).toFixed(2)}x | ${ratio(r).toFixed(2)}x | ${pct(rc)} | ${verdict(rc)} |`,
    );
  }
  return out.join('\n');
}
