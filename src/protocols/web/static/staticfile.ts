/**
 * `StaticFile(root, options)`: serve a file, or a directory tree, from disk
 * (Twisted's `static.File`). A leaf: the rest of the path (`postpath`) names
 * the file under `root`.
 *
 * - Streaming: the body goes out through a pull producer (producer.ts), one
 *   chunk read per request for more; a file is never read whole into memory.
 * - Content-Type by extension (mimetypes.ts), `defaultType` otherwise.
 * - ETag and Last-Modified; 304 for If-None-Match / If-Modified-Since on GET
 *   and HEAD (conditional.ts, RFC 9110 §13.1).
 * - Range on GET (ranges.ts, RFC 9110 §14): one range → 206 with
 *   Content-Range; several → 206 multipart/byteranges (§14.6); none
 *   satisfiable → 416 with `Content-Range: bytes *\/size` (§15.5.17); If-Range
 *   that does not match → the whole file. HEAD ignores Range (§14.2).
 * - Path safety: a segment that is '.', '..', empty (but the last), or holds
 *   '/', '\', or NUL (also when percent-encoded) is a 404 before anything is
 *   touched on disk; the resolved real path must stay under the root's real
 *   path (so a symlink out of the root is a 404) unless `followSymlinks`.
 * - A directory: redirect to add the trailing '/', then the first of
 *   `indexNames` that is a file, else a listing if `allowDirectoryListing`,
 *   else 404.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { join, sep } from 'node:path';
import { Buffer } from 'node:buffer';
import type { Body, IWebRequest, NotDoneYet, RenderResult } from '../interfaces.js';
import { NOT_DONE_YET } from '../interfaces.js';
import { NoResource, redirectTo } from '../pages.js';
import { Resource } from '../resource.js';
import { ifRangeMatches, notModified, validatorsOf, type Validators } from './conditional.js';
import { renderListing, type ListingEntry } from './listing.js';
import { contentTypeFor } from './mimetypes.js';
import { DEFAULT_CHUNK_SIZE, FileProducer, type Piece } from './producer.js';
import { DEFAULT_MAX_RANGES, parseRange, type ByteRange } from './ranges.js';

export interface StaticFileOptions {
  /** Content-Type for an unknown extension; default 'application/octet-stream'. */
  defaultType?: string;
  /** Files tried, in order, for a directory; default ['index.html']. */
  indexNames?: string[];
  /** List a directory that has no index (HTML, names escaped); default false: 404. */
  allowDirectoryListing?: boolean;
  /** Serve through symlinks that lead out of the root; default false: 404. */
  followSymlinks?: boolean;
  /** Extension ('.ext', lower case) → Content-Type, added to the built-in table. */
  contentTypes?: Record<string, string>;
  /** Bytes read per chunk; default DEFAULT_CHUNK_SIZE (64 KiB). */
  chunkSize?: number;
  /** Ranges one request may ask for before Range is ignored; default DEFAULT_MAX_RANGES. */
  maxRanges?: number;
}

/** Is a decoded path segment safe to join under the root? */
function safeSegment(segment: string, isLast: boolean): boolean {
  if (segment === '') return isLast;
  if (segment === '.' || segment === '..') return false;
  return !/[/\\\0]/.test(segment);
}

export class StaticFile extends Resource {
  override isLeaf = true;
  private readonly options: Required<Omit<StaticFileOptions, 'contentTypes'>> & {
    contentTypes: Record<string, string>;
  };
  private realRoot: Promise<string> | null = null;

  constructor(
    readonly root: string,
    options: StaticFileOptions = {},
  ) {
    super();
    this.options = {
      defaultType: options.defaultType ?? 'application/octet-stream',
      indexNames: options.indexNames ?? ['index.html'],
      allowDirectoryListing: options.allowDirectoryListing ?? false,
      followSymlinks: options.followSymlinks ?? false,
      contentTypes: options.contentTypes ?? {},
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      maxRanges: options.maxRanges ?? DEFAULT_MAX_RANGES,
    };
  }

  override render(request: IWebRequest): RenderResult {
    if (request.method !== 'GET' && request.method !== 'HEAD') return super.render(request);
    return this.serve(request);
  }

  // Only for allowedMethods() and the 405's Allow header: render() handles GET and HEAD itself.
  render_GET(): RenderResult {
    return NOT_DONE_YET;
  }

  private async serve(request: IWebRequest): Promise<Body | NotDoneYet> {
    const segments = request.postpath;
    if (!segments.every((s, i) => safeSegment(s, i === segments.length - 1))) return notFound(request);
    const real = await this.resolve(segments.filter((s) => s !== ''));
    if (real === null) return notFound(request);
    const stat = await fs.promises.stat(real).catch(() => null);
    if (stat === null) return notFound(request);
    if (stat.isDirectory()) return this.serveDirectory(request, real, segments);
    // A file is not a directory: 'a.txt/' names nothing.
    if (!stat.isFile() || segments[segments.length - 1] === '') return notFound(request);
    return this.serveFile(request, real, contentTypeFor(real, this.options.contentTypes, this.options.defaultType));
  }

  /** The real path of root/segments, or null when it does not exist or leads out of the root. */
  private async resolve(segments: string[]): Promise<string | null> {
    this.realRoot ??= fs.promises.realpath(this.root);
    const root = await this.realRoot;
    const real = await fs.promises.realpath(join(root, ...segments)).catch(() => null);
    if (real === null) return null;
    if (this.options.followSymlinks || real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))
      return real;
    return null;
  }

  private async serveDirectory(request: IWebRequest, dir: string, segments: string[]): Promise<Body | NotDoneYet> {
    if (segments.length === 0 || segments[segments.length - 1] !== '') {
      // RFC 9110 §15.4.2: the directory's URL ends in '/', so relative links in it resolve.
      return redirectTo(request.path + '/' + (request.query === '' ? '' : `?${request.query}`), request, 301);
    }
    for (const name of this.options.indexNames) {
      const index = await this.resolve([...segments.filter((s) => s !== ''), name]);
      if (index === null) continue;
      const st = await fs.promises.stat(index).catch(() => null);
      if (st?.isFile())
        return this.serveFile(
          request,
          index,
          contentTypeFor(index, this.options.contentTypes, this.options.defaultType),
        );
    }
    if (!this.options.allowDirectoryListing) return notFound(request);
    const entries: ListingEntry[] = [];
    for (const dirent of await fs.promises.readdir(dir, { withFileTypes: true })) {
      const st = await fs.promises.stat(join(dir, dirent.name)).catch(() => null);
      if (st === null) continue;
      entries.push({ name: dirent.name, isDirectory: st.isDirectory(), size: st.size });
    }
    request.setHeader('Content-Type', 'text/html; charset=utf-8');
    return renderListing(decodeURIComponentSafe(request.path), entries);
  }

  private async serveFile(request: IWebRequest, path: string, type: string): Promise<Body | NotDoneYet> {
    const fd = await openRaw(path);
    if (fd === null) return notFound(request);
    let handedOver = false;
    try {
      const st = await fstat(fd);
      const v = validatorsOf(st.size, st.mtimeMs);
      request.setHeader('ETag', v.etag);
      request.setHeader('Last-Modified', v.lastModified);
      request.setHeader('Accept-Ranges', 'bytes');
      if (notModified(request.headers, v)) {
        request.setResponseCode(304);
        request.finish();
        return NOT_DONE_YET;
      }
      const pieces = this.plan(request, st.size, type, v);
      if (pieces === null || pieces.length === 0 || request.method === 'HEAD' || request.disconnected) {
        request.finish();
        return NOT_DONE_YET;
      }
      handedOver = true;
      this.stream(request, fd, pieces);
      return NOT_DONE_YET;
    } finally {
      if (!handedOver) fs.close(fd, () => {});
    }
  }

  /** Status and headers for the response; the pieces of the body, or null for none (416). */
  private plan(request: IWebRequest, size: number, type: string, v: Validators): Piece[] | null {
    const rangeHeader = request.method === 'GET' ? request.headers.get('range') : undefined;
    const result =
      rangeHeader === undefined || !ifRangeMatches(request.headers, v)
        ? ({ kind: 'ignore' } as const)
        : parseRange(rangeHeader, size, this.options.maxRanges);
    if (result.kind === 'unsatisfiable') {
      request.setResponseCode(416);
      request.setHeader('Content-Range', `bytes */${size}`);
      request.setHeader('Content-Length', '0');
      return null;
    }
    if (result.kind === 'ignore') {
      request.setHeader('Content-Type', type);
      request.setHeader('Content-Length', String(size));
      return size === 0 ? [] : [{ start: 0, end: size - 1 }];
    }
    request.setResponseCode(206);
    const ranges = result.ranges;
    if (ranges.length === 1) {
      const r = ranges[0]!;
      request.setHeader('Content-Type', type);
      request.setHeader('Content-Range', `bytes ${r.start}-${r.end}/${size}`);
      request.setHeader('Content-Length', String(r.end - r.start + 1));
      return [r];
    }
    return this.multipart(request, ranges, size, type);
  }

  /** multipart/byteranges (RFC 9110 §14.6): each part has its Content-Type and Content-Range. */
  private multipart(request: IWebRequest, ranges: ByteRange[], size: number, type: string): Piece[] {
    const boundary = randomBytes(12).toString('hex');
    const pieces: Piece[] = [];
    let length = 0;
    ranges.forEach((r, i) => {
      const head = Buffer.from(
        `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
        'latin1',
      );
      pieces.push(head, r);
      length += head.length + r.end - r.start + 1;
    });
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
    pieces.push(tail);
    length += tail.length;
    request.setHeader('Content-Type', `multipart/byteranges; boundary=${boundary}`);
    request.setHeader('Content-Length', String(length));
    return pieces;
  }

  private stream(request: IWebRequest, fd: number, pieces: Piece[]): void {
    // The producer owns the descriptor from here and closes it however the response ends.
    const producer = new FileProducer(
      fd,
      pieces,
      {
        write: (data) => request.write(data),
        done: () => {
          request.unregisterProducer();
          request.finish();
        },
        failed: () => {
          request.unregisterProducer();
          request.abort();
        },
      },
      this.options.chunkSize,
    );
    request.registerProducer(producer, false);
  }
}

/** fs.open / fs.fstat on a raw descriptor (the producer reads and closes it; a FileHandle would close it again when collected). */
function openRaw(path: string): Promise<number | null> {
  return new Promise((resolve) => fs.open(path, 'r', (err, fd) => resolve(err === null ? fd : null)));
}
function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err === null ? resolve(st) : reject(err))));
}

function notFound(request: IWebRequest): Body {
  return new NoResource().render(request) as Body;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
