import { randomBytes } from "node:crypto";
import type { Scope } from "../../src/modules/access/scopes.js";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeIccid, makeImei } from "../../src/platform/identifiers.js";
import type { TestApp } from "../helpers/build.js";
import { Client, type Reply } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";

/** Helpers of the IMEI, device and network-event tests. */

let serial = 0;
/** A valid IMEI of the given TAC (8 digits), with a fresh serial number and its Luhn check digit. */
export function imeiOf(tac = "35345678"): string {
  serial = (serial + 1) % 1_000_000;
  return makeImei(`${tac}${`${(process.pid * 7 + serial) % 1_000_000}`.padStart(6, "0")}`);
}

/** The same IMEI written as a 16-digit IMEISV (software version "42" in place of the check digit). */
export const imeisvOf = (imei: string) => `${imei.slice(0, 14)}42`;

/** An IMEI with a wrong check digit. */
export const badLuhn = (imei: string) => imei.slice(0, 14) + ((Number(imei[14]) + 1) % 10);

/** An API client holding a key of `tenantId` with these scopes (issued directly, as an owner would). */
export async function keyClient(ctx: TestApp, tenantId: string, scopes: Scope[]): Promise<Client> {
  const { key } = await issueApiKey(ctx.prisma, systemActor("test"), { tenantId, name: `test ${randomBytes(3).toString("hex")}`, scopes, expiresAt: null, createdById: null });
  return new Client(ctx.app, { headers: { authorization: `Bearer ${key}` } });
}

/** The operator's mediation feed: a platform tenant's key with `network:write`. */
export async function networkFeed(ctx: TestApp, platformId?: string): Promise<Client> {
  const platform = platformId ?? (await createTenant(ctx.prisma, { kind: "platform", slug: `platform-${randomBytes(4).toString("hex")}` })).id;
  return keyClient(ctx, platform, ["network:write"]);
}

let eventSerial = 0;
export const eventId = () => `ev-${process.pid}-${++eventSerial}-${randomBytes(3).toString("hex")}`;

/** One attach event of `iccid` in device `imei` at `at`. */
export function attach(iccid: string, imei: string, at: Date, extra: Record<string, unknown> = {}) {
  return { eventId: eventId(), type: "attach", iccid, imei, network: "262-01", occurredAt: at.toISOString(), ...extra };
}

export async function feed(client: Client, events: unknown[]): Promise<Reply> {
  return client.post("/v1/network-events", { events });
}

export const put = (client: Client, iccid: string, body: unknown) => client.request("PUT", `/v1/sims/${iccid}/imei-policy`, { body });

/** Minutes from now, for event times in order. */
export const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

export async function imeiEvents(prisma: PrismaClient, simId: string) {
  return prisma.imeiEvent.findMany({ where: { simId }, orderBy: [{ at: "asc" }, { id: "asc" }] });
}

let simSerial = 0;
/**
 * A SIM with identifiers unique across this process (the shared factory's MSISDN repeats after ten SIMs in one
 * process: it keeps 15 of its 16 digits).
 */
export async function createSimUnique(prisma: PrismaClient, opts: { tenantId: string; status?: "inventory" | "ready" | "active" | "suspended" | "terminated" }) {
  const n = `${process.pid % 100000}`.padStart(5, "0") + `${++simSerial}`.padStart(5, "0");
  return prisma.sim.create({
    data: {
      tenantId: opts.tenantId,
      // Issuer and network codes of their own ("894977", 262-77), so these never collide with the shared factory's.
      iccid: makeIccid(`894977${n}00`),
      // Digits ending in 0: never the network simulator's "refuse" suffix 9999.
      imsi: `26277${n.slice(1)}0`,
      msisdn: `4915${n}`,
      formFactor: "ff4",
      status: opts.status ?? "active",
    },
  });
}
