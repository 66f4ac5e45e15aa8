import type { Config } from "../config.js";
import type { NetworkConnector } from "./network/network-connector.js";
import { createNetworkHttp } from "./network/network-http.js";
import { createNetworkSimulator } from "./network/network-simulator.js";
import type { Es2PlusConnector } from "./smdp/es2plus-connector.js";
import { createSmdpConnector } from "./smdp/smdp-connector.js";

/** The outside systems, each behind an interface with a built-in simulator used when it is not configured. */
export interface Connectors {
  network: NetworkConnector;
  // -- connectors: smdp --
  /** The SM-DP+ (GSMA SGP.22 ES2+) that eSIM profiles are ordered from. */
  smdp: Es2PlusConnector;
}

export function createConnectors(config: Config, log: (msg: string) => void): Connectors {
  // -- connectors: network http --
  const network = config.network.url ? createNetworkHttp({ url: config.network.url, token: config.network.token, log }) : createNetworkSimulator();
  // Shown without any user:password@ part: the log is not the place for credentials.
  if (config.network.url) log(`network: operator provisioning API at ${config.network.url.replace(/\/\/[^/@]*@/, "//")}${config.network.token ? "" : " (no NETWORK_CONNECTOR_TOKEN: requests carry no Authorization header)"}`);
  else log("network: built-in simulator (set NETWORK_CONNECTOR_URL for the operator's provisioning API)");
  return {
    network,
    // -- connectors: smdp create --
    smdp: createSmdpConnector(config, log),
  };
}
