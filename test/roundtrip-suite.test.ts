/**
 * The gateway conformance suite through the whole bridge and back:
 * spindle's server hosts toCpsApp(toIterApp(toCpsApp(app))), so every suite
 * case also checks that toIterApp is transparent.
 */
import { toCpsApp } from '../src/bridge/gateway.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { memoryHost, quietLogger } from './gateway-hosts.js';
import { runGatewaySuite, type GatewayHost } from './gateway-suite.js';

const bridgedHost: GatewayHost = {
  start: (app, name) => memoryHost.start(toIterApp(toCpsApp(app, { logger: quietLogger() })), name),
};

runGatewaySuite('spindle server hosting toCpsApp(toIterApp(toCpsApp(app)))', bridgedHost);
