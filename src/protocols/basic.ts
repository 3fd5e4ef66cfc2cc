/**
 * The basic framing receivers (Twisted's `protocols/basic.py`), one per file:
 * lines, netstrings and 4-byte length prefixes.
 */
export { LineReceiver, LINE_MAX_LENGTH } from './linereceiver.js';
export { NetstringReceiver, NETSTRING_MAX_LENGTH } from './netstring.js';
export { Int32StringReceiver, INT32_MAX_LENGTH } from './int32string.js';
export { BufferingReceiver } from './receiver.js';
