/** The demo's page titles, as a browser tab shows them (the index said "spindle demo - spindle demo"). */
import { describe, expect, it } from 'vitest';
import { page } from '../examples/demo/pages.js';

const titleOf = (html: string): string | undefined => /<title>([^<]*)<\/title>/.exec(html)?.[1];

describe('demo page titles', () => {
  it('names the page, then the demo, once', () => {
    expect(titleOf(page('Upload echo', ''))).toBe('Upload echo - spindle demo');
    expect(titleOf(page('spindle demo', ''))).toBe('spindle demo');
  });
});
