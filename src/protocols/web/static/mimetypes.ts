/**
 * Content-Type by file extension. A small table of what a site usually
 * serves; `StaticFile`'s `contentTypes` option adds to it or overrides it, and
 * anything unknown gets `defaultType`. Text types say charset=utf-8.
 * `.ts` is served as TypeScript source text, not as an MPEG transport stream
 * (the registry's meaning): in a source tree that is what it is.
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.avif': 'image/avif',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.wasm': 'application/wasm',
  '.mp3': 'audio/mpeg',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

export function contentTypeFor(name: string, extra: Readonly<Record<string, string>>, defaultType: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return defaultType;
  const ext = name.slice(dot).toLowerCase();
  return extra[ext] ?? CONTENT_TYPES[ext] ?? defaultType;
}
