import type { Config } from "../config.js";
import type { NetworkConnector } from "./network/network-connector.js";
import { createNetworkSimulator } from "./network/network-simulator.js";

/** The outside systems, each behind an interface with a built-in simulator used when it is not configured. */
export interface Connectors {
  network: NetworkConnector;
  // -- connectors: smdp --
}

export function createConnectors(config: Config, log: (msg: string) => void): Connectors {
  // -- connectors: network http --
  const network = createNetworkSimulator();
  log("network: built-in simulator (set NETWORK_CONNECTOR_URL for the operator's provisioning API)");
  return {
    network,
    // -- connectors: smdp create --
  };
}
