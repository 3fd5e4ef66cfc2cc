/**
 * The HTML page for a directory without an index, when `allowDirectoryListing`
 * is on. Names are HTML-escaped and percent-encoded in links, so a file named
 * `<script>` or `a"b` shows as text and links to itself.
 */
import { escapeHtml } from '../pages.js';

export interface ListingEntry {
  name: string;
  isDirectory: boolean;
  size: number;
}

export function renderListing(urlPath: string, entries: ListingEntry[]): string {
  const rows = entries
    .sort((a, b) =>
      a.isDirectory === b.isDirectory ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.isDirectory ? -1 : 1,
    )
    .map((e) => {
      const href = encodeURIComponent(e.name) + (e.isDirectory ? '/' : '');
      const label = escapeHtml(e.name) + (e.isDirectory ? '/' : '');
      return `<tr><td><a href="${escapeHtml(href)}">${label}</a></td><td>${e.isDirectory ? '' : e.size}</td></tr>`;
    })
    .join('\n');
  const title = `Directory listing for ${escapeHtml(urlPath)}`;
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>\n<table>\n<tr><th>Name</th><th>Size</th></tr>\n${rows}\n</table></body></html>\n`;
}
