/**
 * `npx tsx bench/plot.ts RUN.json [BEFORE.json] OUT.svg`: draws the hello rows
 * of a saved `npm run bench -- peers --save RUN.json` run as an SVG, req/s and
 * p99 per server side by side, so the comparison reads at a glance. With a
 * second saved run, each server gets a grey bar for it under its bar. Written
 * by hand: no plotting dependency.
 */
import { writeFileSync } from 'node:fs';
import { readRun, type SavedRun } from './compare.js';

const PREFIX = 'hello keep-alive: ';

interface Bar {
  server: string;
  rps: number;
  p99: number;
}

function bars(run: SavedRun): Bar[] {
  return run.rows
    .filter((r) => r.bench === 'peers' && r.name.startsWith(PREFIX))
    .map((r) => ({ server: r.name.slice(PREFIX.length), rps: r.spindle, p99: r.extra?.['p99Ms'] ?? Number.NaN }));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The SVG text for `run` (and `before`, drawn grey behind it). */
export function plot(run: SavedRun, before: SavedRun | null): string {
  const now = bars(run);
  const old = new Map((before ? bars(before) : []).map((b) => [b.server, b]));
  const rowH = before ? 30 : 22;
  const labelW = 250;
  const plotW = 300;
  const gap = 60;
  const top = 56;
  const width = labelW + 2 * plotW + gap + 90;
  const height = top + now.length * rowH + 40;
  const maxRps = Math.max(...now.map((b) => b.rps), ...[...old.values()].map((b) => b.rps));
  const maxP99 = Math.max(
    ...now.filter((b) => Number.isFinite(b.p99)).map((b) => b.p99),
    ...[...old.values()].map((b) => b.p99).filter(Number.isFinite),
  );
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const title = `12-byte hello, 50 keep-alive connections (commit ${run.commit}, load ${run.load}${before ? `; grey: ${before.commit}` : ''})`;
  out.push(`<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  const x1 = labelW;
  const x2 = labelW + plotW + gap;
  out.push(`<text x="${x1}" y="${top - 10}" font-weight="bold">req/s (median), longer is better</text>`);
  out.push(`<text x="${x2}" y="${top - 10}" font-weight="bold">p99 latency (ms), shorter is better</text>`);
  now.forEach((b, i) => {
    const y = top + i * rowH;
    const spindle = b.server.startsWith('spindle');
    const colour = spindle ? '#2b6cb0' : '#718096';
    out.push(
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end"${spindle ? ' font-weight="bold"' : ''}>${esc(b.server)}</text>`,
    );
    const h = before ? 12 : 16;
    const o = old.get(b.server);
    const bar = (x: number, value: number, max: number, fill: string, dy: number, text: string) => {
      if (!Number.isFinite(value)) return;
      const w = Math.max(1, (value / max) * plotW);
      out.push(`<rect x="${x}" y="${y + dy}" width="${w.toFixed(1)}" height="${h}" fill="${fill}"/>`);
      out.push(`<text x="${(x + w + 4).toFixed(1)}" y="${y + dy + h - 3}" font-size="11">${text}</text>`);
    };
    bar(x1, b.rps, maxRps, colour, 2, `${(b.rps / 1000).toFixed(1)}k`);
    bar(x2, b.p99, maxP99, colour, 2, `${b.p99.toFixed(1)}`);
    if (o) {
      bar(x1, o.rps, maxRps, '#cbd5e0', 2 + h + 1, `${(o.rps / 1000).toFixed(1)}k`);
      bar(x2, o.p99, maxP99, '#cbd5e0', 2 + h + 1, `${o.p99.toFixed(1)}`);
    }
  });
  out.push(
    `<text x="8" y="${height - 12}" font-size="11" fill="#4a5568">${esc(`${run.machine}, node ${run.node}, ${run.date}; one child process per server; bench/peers.ts`)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('plot.ts')) {
  const files = process.argv.slice(2);
  if (files.length < 2) {
    process.stderr.write('usage: npx tsx bench/plot.ts RUN.json [BEFORE.json] OUT.svg\n');
    process.exit(2);
  }
  const outFile = files.pop()!;
  const svg = plot(readRun(files[0]!), files[1] ? readRun(files[1]) : null);
  writeFileSync(outFile, svg);
  process.stdout.write(`wrote ${outFile}\n`);
}
