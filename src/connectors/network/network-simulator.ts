import type { NetworkConnector, NetworkResult } from "./network-connector.js";

/**
 * The built-in network: accepts every change, like an operator's test platform. Like a payment provider's test
 * cards, one documented rule lets integrators exercise refusals: a SIM whose IMSI ends in "9999" is refused with
 * `network_rejected` (docs/connectors.md).
 */
export const SIMULATOR_REJECTED_IMSI_SUFFIX = "9999";

export function createNetworkSimulator(opts: { latencyMs?: number } = {}): NetworkConnector {
  return {
    kind: "simulator",
    maxBatch: 1000,
    async apply(changes) {
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      return changes.map((c): NetworkResult =>
        c.imsi.endsWith(SIMULATOR_REJECTED_IMSI_SUFFIX)
          ? { iccid: c.iccid, ok: false, reason: "network_rejected", detail: `The network refused to ${c.action} this subscriber.` }
          : { iccid: c.iccid, ok: true },
      );
    },
  };
}
