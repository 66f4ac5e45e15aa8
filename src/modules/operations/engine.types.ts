import type { OperationAction, OperationStatus } from "../../generated/prisma/enums.js";
import type { OperationParams, SimState } from "./operation-decisions.js";

/** A SIM as the engine reads it under lock: its state plus what the network connector needs. */
export interface LockedSim extends SimState {
  iccid: string;
  imsi: string;
  msisdn: string | null;
}

/** The operation as the engine runs it. */
export interface RunningOperation {
  id: string;
  tenantId: string;
  action: OperationAction;
  status: OperationStatus;
  params: OperationParams;
  reasonCode: string;
  actorType: string;
  actorId: string | null;
}
