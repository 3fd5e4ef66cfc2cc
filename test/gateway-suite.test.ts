/** The gateway conformance suite on spindle's own server, in memory and on TCP. */
import { memoryHost, tcpHost } from './gateway-hosts.js';
import { runGatewaySuite } from './gateway-suite.js';

runGatewaySuite('spindle HTTPFactory on MemoryReactor + StringTransport', memoryHost);
runGatewaySuite('spindle HTTPFactory on NodeReactor + TCP', tcpHost);
