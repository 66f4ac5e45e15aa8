/**
 * The mobile operator's provisioning system (HLR/HSS, or the operator's IoT platform API) as seen by the
 * lifecycle engine. A real integration implements this over HTTP (network-http.ts); the built-in simulator
 * (network-simulator.ts) answers without a network so the product works end to end out of the box.
 */
export type NetworkAction = "activate" | "suspend" | "resume" | "terminate";

export interface NetworkChange {
  iccid: string;
  imsi: string;
  msisdn: string | null;
  action: NetworkAction;
}

export type NetworkResult =
  | { iccid: string; ok: true }
  /** `reason` is a stable code shown to the customer per SIM, e.g. "network_rejected", "unknown_subscriber". */
  | { iccid: string; ok: false; reason: string; detail?: string };

export interface NetworkConnector {
  readonly kind: "simulator" | "http";
  /** The most changes one `apply` call takes; the engine chunks by it. */
  readonly maxBatch: number;
  /**
   * Applies the changes on the network: one result per change, in the same order. A per-SIM refusal is a
   * result; a thrown error means the whole call failed (timeout, 5xx) and is retried by the job.
   * Changes are idempotent on the operator's side (suspending a suspended subscriber succeeds).
   */
  apply(changes: NetworkChange[]): Promise<NetworkResult[]>;
}
