import type { EsimNotificationBody, OrderState, ProfileState } from "./esim.schemas.js";

/**
 * ES2+.HandleDownloadProgressInfo to state changes. SGP.22 (v2.x, 5.3.5) numbers the steps of the download
 * procedure; SM-DP+s forwarding the eUICC's later notifications (SGP.22 3.5: enable, disable, delete) use
 * the points after them. One table, so an SM-DP+ numbering them otherwise is one edit here.
 */
export const NOTIFICATION_POINTS = {
  /** Eligibility and retry limit check: a failure means the download cannot proceed. */
  eligibility: 1,
  /** Confirmation failure: too many wrong confirmation codes. */
  confirmationFailure: 2,
  /** The Bound Profile Package reached the device. */
  bppDownload: 3,
  /** The profile was installed on the eUICC. */
  bppInstallation: 4,
  profileDeleted: 5,
  profileEnabled: 6,
  profileDisabled: 7,
} as const;

export interface OrderSnapshot {
  orderState: OrderState;
  profileState: ProfileState | null;
}

export interface Transition extends OrderSnapshot {
  /** A stable code for the SIM's history (e.g. `esim_installation_failed`), with the sentence in `reason`. */
  reasonCode: string | null;
  reason: string | null;
}

/** How far the download has come: a late or repeated notification never moves an order backwards. */
const PROGRESS: Partial<Record<OrderState, number>> = { allocated: 0, linked: 0, confirmed: 0, released: 0, error: 0, downloaded: 1, installed: 2 };

/**
 * The state the notification moves the order to, or null when it changes nothing (a repeat, a step already
 * passed, a point without a state of its own such as a successful eligibility check, or a cancelled order).
 * An order in error moves on when a later step succeeds: SGP.22 lets the end user retry the download.
 */
export function transitionFor(current: OrderSnapshot, n: Pick<EsimNotificationBody, "notificationPointId" | "notificationPointStatus">): Transition | null {
  const progress = PROGRESS[current.orderState];
  if (progress === undefined) return null; // cancelled (or an order never placed): the SM-DP+ is late
  const succeeded = n.notificationPointStatus.status === "Executed-Success" || n.notificationPointStatus.status === "Executed-WithWarning";
  const point = n.notificationPointId;
  const P = NOTIFICATION_POINTS;
  let next: Transition = { ...current, reasonCode: null, reason: null };

  if (point === P.eligibility || point === P.confirmationFailure || point === P.bppDownload || point === P.bppInstallation) {
    if (!succeeded) {
      // A failure after installation is stale; before it, the download failed.
      if (progress >= 2) return null;
      next = { ...current, orderState: "error", reasonCode: `esim_${STEPS[point]!.code}_failed`, reason: failureReason(point, n.notificationPointStatus) };
    } else if (point === P.bppDownload && progress < 1) next.orderState = "downloaded";
    else if (point === P.bppInstallation && progress < 2) next.orderState = "installed";
  } else if (succeeded && (point === P.profileEnabled || point === P.profileDisabled || point === P.profileDeleted)) {
    next.profileState = point === P.profileEnabled ? "enabled" : point === P.profileDisabled ? "disabled" : "deleted";
    // A profile that is enabled, disabled or deleted was installed, whether or not that notification came.
    next.orderState = "installed";
  }
  return next.orderState === current.orderState && next.profileState === current.profileState ? null : next;
}

const STEPS: Record<number, { code: string; name: string }> = {
  1: { code: "eligibility", name: "eligibility check" },
  2: { code: "confirmation", name: "confirmation code check" },
  3: { code: "download", name: "profile download" },
  4: { code: "installation", name: "profile installation" },
};

function failureReason(point: number, status: EsimNotificationBody["notificationPointStatus"]): string {
  const data = status.statusCodeData;
  const codes = data ? ` (subject ${data.subjectCode}, reason ${data.reasonCode})` : "";
  return `${STEPS[point]?.name ?? `step ${point}`} ${status.status === "Expired" ? "expired" : "failed"}${codes}${data?.message ? `: ${data.message}` : ""}`.slice(0, 500);
}
