import type { Config } from "../../config.js";
import type { Es2PlusConnector } from "./es2plus-connector.js";
import { createEs2PlusHttpClient } from "./es2plus-http.js";
import { createSmdpSimulator } from "./smdp-simulator.js";

/** The SM-DP+ the configuration names (SMDP_ES2PLUS_URL), else the built-in simulator. */
export function createSmdpConnector(config: Config, log: (msg: string) => void): Es2PlusConnector {
  const { es2plusUrl, address, functionRequesterId, tls } = config.smdp;
  if (!es2plusUrl) {
    log(`smdp: built-in SM-DP+ simulator, activation codes name ${address} (set SMDP_ES2PLUS_URL for a real SM-DP+)`);
    return createSmdpSimulator({ smdpAddress: address });
  }
  const mutual = tls.certFile ? "mutual TLS" : "no client certificate";
  log(`smdp: ES2+ at ${new URL(es2plusUrl).origin} as ${functionRequesterId} (${mutual})`);
  return createEs2PlusHttpClient({ baseUrl: es2plusUrl, functionRequesterId, smdpAddress: address, tls });
}
