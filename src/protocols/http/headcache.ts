/**
 * `HeadCache`: the last response head a server built, kept as bytes while the
 * next response has the same status, headers, Date and framing (a keep-alive
 * client asking for the same resource again and again gets the same head,
 * save the Date once a second). A hit copies the bytes instead of building
 * the text and encoding it (framing.ts); a miss builds the head as before.
 *
 * One entry per server (HTTPFactory): comparing costs a few string compares
 * (identity first: an app's header names and values are usually the same
 * string constants), and a response that differs pays them plus a copy of its
 * header lists. The head bytes are only made once the same head came twice in
 * a row, so responses that always differ (a length that changes) never make them.
 */
import { Buffer } from 'node:buffer';
import { frameHead, headFields, NONE, tailText, type HeadFields, type HeadTail } from './framing.js';
import type { BodyFraming } from './message.js';

const NO_FIELDS: readonly string[] = [];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class HeadCache implements HeadTail {
  /** The framing of the head `head()` returned last (see HeadTail). */
  framing: BodyFraming = NONE;
  lengthOut = -1;
  keepAlive = false;
  lengthLine = -1;

  // What the cached fields were built from.
  private fields: HeadFields | null = null;
  private code = 0;
  private phrase = '';
  private names: readonly string[] = NO_FIELDS;
  private values: readonly string[] = NO_FIELDS;
  private date = '';
  private serverName: string | undefined = undefined;
  // The last head's framing, and its bytes once the same head came twice.
  private lastLine = -2;
  private lastFraming: BodyFraming = NONE;
  private lastKeepAlive = false;
  private lastV10 = false;
  private bytes: Buffer | null = null;

  /**
   * The head (status line, fields, framing lines, empty line) for these
   * inputs, as bytes when it repeats the last one, else as its text; the
   * framing it decided is left in `framing`, `lengthOut`, `keepAlive`.
   */
  head(
    method: string,
    version: string,
    code: number,
    phrase: string,
    names: readonly string[],
    values: readonly string[],
    keepAlive: boolean,
    knownLength: number,
    date: string,
    serverName: string | undefined,
  ): Uint8Array | string {
    let fields = this.fields;
    const same =
      fields !== null &&
      code === this.code &&
      date === this.date &&
      phrase === this.phrase &&
      serverName === this.serverName &&
      sameList(names, this.names) &&
      sameList(values, this.values);
    if (!same) {
      fields = this.fields = headFields(code, phrase, names, values, date, serverName);
      this.code = code;
      this.phrase = phrase;
      this.names = names.slice();
      this.values = values.slice();
      this.date = date;
      this.serverName = serverName;
      this.bytes = null;
    }
    frameHead(fields!, method, version, code, keepAlive, knownLength, this);
    const v10 = version === 'HTTP/1.0';
    if (
      this.lengthLine !== this.lastLine ||
      this.framing !== this.lastFraming ||
      this.keepAlive !== this.lastKeepAlive ||
      v10 !== this.lastV10
    ) {
      this.lastLine = this.lengthLine;
      this.lastFraming = this.framing;
      this.lastKeepAlive = this.keepAlive;
      this.lastV10 = v10;
      this.bytes = null;
      return fields!.text + tailText(this, version);
    }
    if (!same) return fields!.text + tailText(this, version);
    return (this.bytes ??= Buffer.from(fields!.text + tailText(this, version), 'latin1'));
  }
}
