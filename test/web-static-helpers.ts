/**
 * Helpers for the StaticFile tests: a fixture tree in a temporary directory
 * (with a secret beside it, outside the root) and a request driven to its end
 * on DummyRequest, asking the pull producer for more each time it wrote, as a
 * draining socket does.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IProducer } from '../src/index.js';
import type { IResource } from '../src/index.js';
import { site } from '../src/index.js';
import { DummyRequest } from '../src/testing/index.js';

export const LETTERS = Buffer.from('abcdefghijklmnopqrstuvwxyz');
export const SECRET = 'SECRET-OUTSIDE-THE-ROOT';

/** base/{secret.txt, root/...}: root is what StaticFile serves. */
export function makeFixture() {
  const base = fs.mkdtempSync(join(tmpdir(), 'spindle-static-'));
  const root = join(base, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(join(base, 'secret.txt'), SECRET);
  fs.writeFileSync(join(root, 'letters.txt'), LETTERS);
  fs.writeFileSync(join(root, 'empty.txt'), '');
  fs.writeFileSync(join(root, 'page.html'), '<p>hi</p>');
  fs.writeFileSync(join(root, 'data.bin'), Buffer.from([0, 1, 2, 255]));
  fs.writeFileSync(join(root, 'noext'), 'x');
  fs.mkdirSync(join(root, 'site'));
  fs.writeFileSync(join(root, 'site', 'index.html'), '<h1>index</h1>');
  fs.mkdirSync(join(root, 'plain'));
  fs.writeFileSync(join(root, 'plain', '<b>&"q\'.txt'), 'odd');
  fs.mkdirSync(join(root, 'plain', 'inner'));
  fs.symlinkSync(join(base, 'secret.txt'), join(root, 'out-link'));
  fs.symlinkSync(base, join(root, 'out-dir'));
  fs.symlinkSync(join(root, 'letters.txt'), join(root, 'in-link'));
  return { base, root, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** A DummyRequest that tells a waiting test about every write, finish and producer. */
export class DrivenRequest extends DummyRequest {
  private waiter: (() => void) | null = null;
  changed(): Promise<void> {
    return new Promise((resolve) => (this.waiter = resolve));
  }
  private poke(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
  override write(data: Uint8Array | string): void {
    super.write(data);
    this.poke();
  }
  override finish(): void {
    super.finish();
    this.poke();
  }
  override abort(): void {
    super.abort();
    this.poke();
  }
  override registerProducer(producer: IProducer, streaming: boolean): void {
    super.registerProducer(producer, streaming);
    this.poke();
  }
}

export async function fetchStatic(
  root: IResource,
  uri: string,
  headers: [string, string][] = [],
  method = 'GET',
): Promise<DrivenRequest> {
  const r = new DrivenRequest({ method, uri, headers: [['Host', 'static.test'], ...headers] });
  let change = r.changed();
  site(root)(r);
  while (!r.finished && !r.aborted) {
    await change;
    change = r.changed();
    if (r.producer !== null) r.pull(1);
  }
  return r;
}

/** Split a multipart/byteranges body into its parts' headers and bytes. */
export function parseMultipart(body: Buffer, contentType: string): { headers: Record<string, string>; data: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!;
  const parts: { headers: Record<string, string>; data: Buffer }[] = [];
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (body.subarray(after, after + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', after);
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(after + 2, headEnd)
      .toString('latin1')
      .split('\r\n')) {
      const c = line.indexOf(':');
      headers[line.slice(0, c).toLowerCase()] = line.slice(c + 2);
    }
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd);
    parts.push({ headers, data: body.subarray(headEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}
