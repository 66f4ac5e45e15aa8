import t from "tap";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import type { Client, Reply } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";
import { createSimUnique, keyClient } from "../devices/helpers.js";

let serial = 0;
async function alert(
  prisma: PrismaClient,
  opts: { tenantId: string; simId?: string | null; kind?: "imei_mismatch" | "usage_threshold" | "data_limit"; at: Date; acknowledged?: boolean },
) {
  return prisma.alert.create({
    data: {
      tenantId: opts.tenantId,
      simId: opts.simId ?? null,
      kind: opts.kind ?? "usage_threshold",
      severity: opts.kind === "data_limit" ? "critical" : "warning",
      message: `alert ${++serial}`,
      data: { n: serial },
      dedupeKey: `test:${serial}`,
      createdAt: opts.at,
      ...(opts.acknowledged && { acknowledgedAt: opts.at }),
    },
  });
}

const minute = (m: number) => new Date(Date.UTC(2031, 2, 15, 12, m));

/** Every page of a listing, following nextCursor. */
async function allPages(client: Client, url: string): Promise<Array<{ id: string }>> {
  const items: Array<{ id: string }> = [];
  let next: string | null = null;
  do {
    const res: Reply = await client.get(`${url}${url.includes("?") ? "&" : "?"}limit=2${next ? `&cursor=${next}` : ""}`);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${res.body}`);
    items.push(...res.json.items);
    next = res.json.nextCursor;
  } while (next);
  return items;
}

t.test("the alert list: newest first, every kind, filters, cursor pages, another tenant's never", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const other = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const bSim = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const a1 = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: sim.id, kind: "imei_mismatch", at: minute(1) });
  const a2 = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: sim.id, kind: "usage_threshold", at: minute(2), acknowledged: true });
  const a3 = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: other.id, kind: "data_limit", at: minute(3) });
  const a4 = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: null, kind: "usage_threshold", at: minute(3) }); // same instant as a3
  const a5 = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: sim.id, kind: "data_limit", at: minute(5) });
  const b1 = await alert(ctx.prisma, { tenantId: w.tenantB.id, simId: bSim.id, at: minute(4) });

  const viewer = ctx.client();
  await viewer.login(w.usersA.viewer.email, w.usersA.viewer.password);
  const all = await viewer.get("/v1/alerts");
  t.equal(all.status, 200);
  const [tie1, tie2] = [a3.id, a4.id].sort().reverse();
  t.same(all.json.items.map((a: { id: string }) => a.id), [a5.id, tie1, tie2, a2.id, a1.id], "newest first, ties by id; B's alert absent");
  t.match(all.json.items[0], { id: a5.id, tenantId: w.tenantA.id, kind: "data_limit", severity: "critical", message: a5.message, iccid: sim.iccid, data: { n: Number((a5.data as { n: number }).n) }, createdAt: minute(5).toISOString(), acknowledgedAt: null, acknowledgedBy: null });
  t.equal(all.json.items.find((a: { id: string }) => a.id === a4.id).iccid, null, "the pooled limit's alert names no SIM");

  t.same((await allPages(viewer, "/v1/alerts")).map((a) => a.id), all.json.items.map((a: { id: string }) => a.id), "pages of two: none skipped or repeated");
  const ids = async (url: string) => ((await viewer.get(url)).json.items as Array<{ id: string }>).map((a) => a.id);
  t.same(await ids("/v1/alerts?kind=data_limit"), [a5.id, a3.id]);
  t.same(await ids("/v1/alerts?kind=data_limit&kind=imei_mismatch"), [a5.id, a3.id, a1.id], "kind is repeatable");
  t.same(await ids(`/v1/alerts?iccid=${sim.iccid}`), [a5.id, a2.id, a1.id]);
  t.same(await ids(`/v1/alerts?iccid=${sim.iccid}&acknowledged=false`), [a5.id, a1.id]);
  t.same(await ids("/v1/alerts?acknowledged=true"), [a2.id]);
  t.same(await ids(`/v1/alerts?from=${minute(2).toISOString()}&to=${minute(5).toISOString()}`), [tie1, tie2, a2.id], "from inclusive, to exclusive");
  t.same(await ids(`/v1/alerts?iccid=${bSim.iccid}`), [], "another tenant's SIM: nothing");
  t.same(await ids("/v1/alerts?iccid=8949000000000000000"), []);

  for (const bad of ["kind=stolen", "acknowledged=maybe", "from=yesterday", `from=${minute(5).toISOString()}&to=${minute(1).toISOString()}`, "cursor=bm90LWEtY3Vyc29y", "limit=0", "limit=501", "iccid=12"]) {
    const res = await viewer.get(`/v1/alerts?${bad}`);
    t.equal(res.status, 400, bad);
    t.equal(res.json.code, "validation_failed", bad);
  }
  t.equal((await viewer.get(`/v1/alerts?tenantId=${w.tenantB.id}`)).status, 404, "a customer naming another tenant");

  // Staff (but billing) read every tenant's, narrowed with tenantId; billing contacts see no alerts.
  const staff = ctx.client();
  await staff.login(w.staff.viewer.email, w.staff.viewer.password);
  const staffIds = await allPages(staff, "/v1/alerts");
  t.ok([a1.id, b1.id].every((id) => staffIds.some((a) => a.id === id)), "staff see both tenants'");
  t.same(((await staff.get(`/v1/alerts?tenantId=${w.tenantB.id}`)).json.items as Array<{ id: string }>).map((a) => a.id), [b1.id]);
  t.equal((await staff.get("/v1/alerts?tenantId=00000000-0000-7000-8000-000000000000")).status, 404);
  const billing = ctx.client();
  await billing.login(w.usersA.billing.email, w.usersA.billing.password);
  t.equal((await billing.get("/v1/alerts")).status, 403);
  t.equal((await billing.get(`/v1/alerts/${a1.id}`)).status, 403);

  const key = await keyClient(ctx, w.tenantA.id, ["sims:read"]);
  t.equal((await key.get("/v1/alerts")).json.items.length, 5, "API keys with sims:read");
  t.equal((await (await keyClient(ctx, w.tenantA.id, ["usage:read"])).get("/v1/alerts")).status, 403);
});

t.test("one alert, and acknowledging it: once, audited, idempotent; another tenant's is 404", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const mine = await alert(ctx.prisma, { tenantId: w.tenantA.id, simId: sim.id, kind: "data_limit", at: minute(1) });
  const theirs = await alert(ctx.prisma, { tenantId: w.tenantB.id, at: minute(2) });
  const as = async (u: { email: string; password: string }) => {
    const c = ctx.client();
    await c.login(u.email, u.password);
    return c;
  };
  const operator = await as(w.usersA.operator);

  const one = await operator.get(`/v1/alerts/${mine.id}`);
  t.match(one.json, { id: mine.id, kind: "data_limit", iccid: sim.iccid, acknowledgedAt: null });
  t.equal((await operator.get(`/v1/alerts/${theirs.id}`)).status, 404, "another tenant's alert");
  t.equal((await operator.get("/v1/alerts/00000000-0000-7000-8000-000000000000")).status, 404);
  t.equal((await operator.get("/v1/alerts/not-a-uuid")).status, 400);

  t.equal((await (await as(w.usersA.viewer)).post(`/v1/alerts/${mine.id}/acknowledge`)).status, 403, "viewers read, do not acknowledge");
  t.equal((await (await as(w.staff.owner)).post(`/v1/alerts/${mine.id}/acknowledge`)).status, 403, "staff read, do not acknowledge");
  const foreign = await operator.post(`/v1/alerts/${theirs.id}/acknowledge`);
  t.equal(foreign.status, 404);
  t.equal((await ctx.prisma.alert.findUniqueOrThrow({ where: { id: theirs.id } })).acknowledgedAt, null, "B's alert untouched");

  const acked = await operator.post(`/v1/alerts/${mine.id}/acknowledge`);
  t.equal(acked.status, 200);
  t.match(acked.json, { id: mine.id, acknowledgedBy: w.usersA.operator.id });
  t.ok(acked.json.acknowledgedAt);
  const again = await (await as(w.usersA.admin)).post(`/v1/alerts/${mine.id}/acknowledge`);
  t.equal(again.status, 200);
  t.same(again.json, acked.json, "the first acknowledgement stands");
  const audits = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "alert.acknowledged" } });
  t.equal(audits.length, 1, "audited once");
  t.match(audits[0], { actorId: w.usersA.operator.id, targetType: "alert", targetId: mine.id });
  t.same(((await operator.get("/v1/alerts?acknowledged=true")).json.items as Array<{ id: string }>).map((a) => a.id), [mine.id]);

  // An API key with sims:write acknowledges too, and is named as the acknowledger.
  const next = await alert(ctx.prisma, { tenantId: w.tenantA.id, at: minute(3) });
  const key = await keyClient(ctx, w.tenantA.id, ["sims:read", "sims:write"]);
  const byKey = await key.post(`/v1/alerts/${next.id}/acknowledge`);
  t.equal(byKey.status, 200);
  const keyRow = await ctx.prisma.apiKey.findFirstOrThrow({ where: { tenantId: w.tenantA.id } });
  t.equal(byKey.json.acknowledgedBy, keyRow.id);
});
