/**
 * Errors of the protocols layer (framing receivers and factories). Each is a
 * `SpindleError` with a stable `code`. A receiver that meets a bad or over-long
 * frame closes its connection with one of these as the reason, so the
 * protocol's `connectionLost(reason)` says exactly what went wrong.
 */
import { SpindleError } from '../reactor/errors.js';

/** A line or length-prefixed string was longer than the receiver's `MAX_LENGTH`. */
export class FrameTooLongError extends SpindleError {
  /** The receiver's limit, in bytes. */
  readonly limit: number;
  /** How long the frame was (or at least is, when it is still arriving), in bytes. */
  readonly length: number;
  constructor(what: string, length: number, limit: number) {
    super(
      'ERR_FRAME_TOO_LONG',
      `${what} of ${length} bytes is longer than MAX_LENGTH ${limit}; the connection was closed. Raise MAX_LENGTH on the receiver if such frames are expected`,
    );
    this.limit = limit;
    this.length = length;
  }
}

/** The peer sent bytes that do not form a valid frame (a bad netstring length or terminator). */
export class BadFrameError extends SpindleError {
  constructor(message: string) {
    super('ERR_BAD_FRAME', message);
  }
}

/** `Factory.buildProtocol` was called on a factory whose `protocol` class was never set. */
export class NoProtocolError extends SpindleError {
  constructor(factoryName: string) {
    super(
      'ERR_NO_PROTOCOL',
      `${factoryName}.protocol is not set; assign a Protocol subclass to factory.protocol or build the factory with Factory.forProtocol(MyProtocol)`,
    );
  }
}

/**
 * `ReconnectingClientFactory` retrying without a clock throws the reactor
 * layer's `NoClockError` (one class for every time-based helper); re-exported
 * so protocol code and its users find it beside the other protocol errors.
 */
export { NoClockError } from '../reactor/errors.js';

/**
 * An endpoint string (`serverFromString`/`clientFromString`) is malformed: an
 * unknown kind, a missing or unknown part, a bad number. `part` names the part
 * that is wrong; the message shows a correct example of that kind.
 */
export class EndpointSyntaxError extends SpindleError {
  readonly description: string;
  readonly part: string;
  constructor(description: string, part: string, problem: string, example: string) {
    super('ERR_ENDPOINT_SYNTAX', `bad endpoint ${JSON.stringify(description)}: ${problem}; for example ${example}`);
    this.description = description;
    this.part = part;
  }
}

/** A file an endpoint names (a TLS key or certificate) could not be read when it listened or connected. */
export class EndpointFileError extends SpindleError {
  readonly path: string;
  constructor(part: string, path: string, cause: unknown) {
    const errno = (cause as { code?: string } | null)?.code ?? String((cause as Error | null)?.message ?? cause);
    super(
      'ERR_ENDPOINT_FILE',
      `cannot read ${part}=${path} (${errno}); give the path of a PEM file this process may read`,
      { cause },
    );
    this.path = path;
  }
}

/**
 * A `trustedProxies` entry (HTTPFactory/serve() option, CLI `--trusted-proxy`)
 * is neither an IP address nor a CIDR range.
 */
export class TrustedProxyError extends SpindleError {
  readonly entry: string;
  constructor(entry: string, problem: string) {
    super(
      'ERR_TRUSTED_PROXY',
      `bad trusted proxy ${JSON.stringify(entry)}: ${problem}; give an address or a CIDR range, e.g. 10.0.0.1, 10.0.0.0/8, ::1 or fd00::/8`,
    );
    this.entry = entry;
  }
}
