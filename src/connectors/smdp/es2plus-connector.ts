/**
 * The SM-DP+ as the operator sees it: GSMA SGP.22 ES2+ (Operator -> SM-DP+). A real SM-DP+ is reached over
 * HTTPS JSON with mutual TLS (es2plus-http.ts); the built-in simulator (smdp-simulator.ts) answers without a
 * network so eSIM ordering works end to end out of the box.
 *
 * The order of calls for one profile: DownloadOrder (the ICCID is allocated, or linked when an EID is given),
 * ConfirmOrder (a matching id is assigned; with releaseFlag the profile is released for download at once),
 * and CancelOrder to undo an order that was not downloaded yet. ReleaseProfile releases a profile confirmed
 * without releaseFlag.
 */
export interface DownloadOrderRequest {
  iccid: string;
  eid?: string;
  /** Content-free operator information, e.g. "P9054-2" (SGP.22). */
  profileType?: string;
}

export interface ConfirmOrderRequest {
  iccid: string;
  eid?: string;
  /** Omitted: the SM-DP+ generates one (what we do). */
  matchingId?: string;
  /** The confirmation code the end user must type on the device; omitted when none is required. */
  confirmationCode?: string;
  smdsAddress?: string;
  releaseFlag: boolean;
}

export interface ConfirmOrderResult {
  eid?: string;
  matchingId: string;
  /** The SM-DP+ address to put in the activation code. */
  smdpAddress: string;
}

export interface CancelOrderRequest {
  iccid: string;
  eid?: string;
  matchingId?: string;
  /** Available: the profile may be ordered again; Unavailable: it is retired. */
  finalProfileStatusIndicator: "Available" | "Unavailable";
}

export interface Es2PlusConnector {
  readonly kind: "simulator" | "http";
  downloadOrder(request: DownloadOrderRequest): Promise<{ iccid: string }>;
  confirmOrder(request: ConfirmOrderRequest): Promise<ConfirmOrderResult>;
  cancelOrder(request: CancelOrderRequest): Promise<void>;
  releaseProfile(request: { iccid: string }): Promise<void>;
}

export type Es2PlusFunction = "downloadOrder" | "confirmOrder" | "cancelOrder" | "releaseProfile";

/**
 * A failed ES2+ call.
 * - `unavailable`: no answer (connection refused, TLS failure, timeout, HTTP 5xx): the order may be retried.
 * - `rejected`: the SM-DP+ answered and refused (functionExecutionStatus Failed or Expired, with SGP.22
 *   subject and reason codes), or answered something that is not ES2+.
 */
export class Es2PlusError extends Error {
  constructor(
    readonly kind: "unavailable" | "rejected",
    readonly fn: Es2PlusFunction,
    message: string,
    readonly statusCode?: { subjectCode: string; reasonCode: string },
    options?: { cause?: unknown },
  ) {
    // `message` is shown to customers (problem detail, the order's error reason): no hosts, ports or stacks;
    // the transport error stays in `cause`, for the log.
    super(message, options);
    this.name = "Es2PlusError";
  }
}
