/**
 * A head spindle's bridge checked already, handed to spindle's gateway without
 * a second check: the bridge's counterpart of `RequestCore[CHECKED_HEAD]`.
 *
 * A CPS app behind `toIterApp` sets its status and headers on a request whose
 * `RequestCore` checks them by the server's rules (a token name, a field value
 * with no CR, LF, NUL or other control, Content-Length as digits, no
 * Transfer-Encoding; RFC 9110 §5.1, §5.5, §8.6), and the bridge drops the
 * hop-by-hop names (G9). `startResponse` would check all of it again and copy
 * the list (G10). When the gateway's environ carries `CHECKED_START` and the
 * bridge was handed that gateway's own `startResponse` (no middleware in
 * between that could see or change the head), the bridge hands the head over
 * through it instead; anything else goes the ordinary way.
 */
import type { StartResponse } from './interfaces.js';

/** The environ key (a symbol: out of `Object.keys`, JSON and every string lookup) of the gateway's `CheckedStartHost`. */
export const CHECKED_START = Symbol('spindle.checkedStart');

export interface CheckedStartHost {
  /**
   * Take a checked head for the response `startResponse` belongs to. False
   * (nothing done) when `startResponse` is not this host's own, or the head
   * is one `startResponse` must see (a status outside 200-599, two
   * Content-Length values, a second head): the caller then calls `startResponse`.
   */
  [CHECKED_START](
    startResponse: StartResponse,
    code: number,
    reason: string,
    names: readonly string[],
    values: readonly string[],
  ): boolean;
}

/** The host in an environ, if the gateway that built it takes checked heads. */
export function checkedStartHost(environ: object): CheckedStartHost | undefined {
  return (environ as { [CHECKED_START]?: CheckedStartHost })[CHECKED_START];
}
