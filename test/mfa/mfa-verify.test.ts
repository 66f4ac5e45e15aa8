// The sign-in second step (MfaService.verifySecondFactor, which the identity flow calls before a session exists),
// against a factor enrolled through the API, with codes from oathtool.
import t, { type Test } from "tap";
import { createMfaService, type MfaUser } from "../../src/modules/mfa/mfa.service.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { AppError } from "../../src/platform/errors.js";
import { build } from "../helpers/build.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { awayFromStepBoundary, enrolThroughApi, oathCode, oathCodeAt, signInActor } from "./oathtool.js";

async function enrolled(t: Test) {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const user = await createUser(ctx.prisma, { tenantId: tenant.id, role: "viewer" });
  const api = ctx.client();
  t.equal((await api.login(user.email, user.password)).status, 200);
  const { secret, recoveryCodes } = await enrolThroughApi(api);
  const mfa = createMfaService({ prisma: ctx.prisma, keyring: createKeyring(ctx.runtime.secrets.encryptionKeys) });
  const who: MfaUser = { id: user.id, email: user.email, tenantId: tenant.id };
  const verify = (code: string, ip?: string) => mfa.verifySecondFactor(signInActor(ip), who, code);
  return { ...ctx, tenant, user, api, secret, recoveryCodes, mfa, who, verify };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(t: Test, p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    t.type(err, AppError);
    return err as AppError;
  }
  t.fail("expected a rejection");
  return new AppError(0, "resolved", "resolved");
}

t.test("a TOTP code is accepted once, the next step's works, a code two steps away does not", async (t) => {
  const { verify, secret, prisma, user, mfa } = await enrolled(t);
  t.equal(await mfa.hasConfirmedFactor(user.id), true);
  await awayFromStepBoundary();

  // Confirmation consumed the step it happened in (now, or one step ago by now): its code is a replay.
  const confirmedStep = Number((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).lastUsedStep);
  const current = oathCode(secret, new Date(confirmedStep * 30_000 + 1000));
  const replay = await rejection(t, verify(current));
  t.equal(replay.status, 401);
  t.equal(replay.code, "invalid_mfa_code");

  const next = oathCodeAt(secret, 1);
  t.same(await verify(next), { method: "totp" }, "now+30 s is within the drift window");
  const step = (await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).lastUsedStep;
  t.equal(step, BigInt(Math.floor(Date.now() / 30_000) + 1), "the accepted step is recorded");
  t.equal((await rejection(t, verify(next))).code, "invalid_mfa_code", "the same code twice: refused");
  t.equal((await rejection(t, verify(current))).code, "invalid_mfa_code", "an older step after a newer one: refused");
  t.equal((await rejection(t, verify(oathCodeAt(secret, 2)))).code, "invalid_mfa_code", "two steps ahead: outside the window");
  t.equal((await rejection(t, verify(oathCodeAt(secret, -2)))).code, "invalid_mfa_code", "two steps behind: outside the window");
  t.equal((await rejection(t, verify("12345"))).code, "invalid_mfa_code", "malformed");

  const failures = await prisma.auditEvent.findMany({ where: { action: "auth.mfa_failed" }, orderBy: { seq: "asc" } });
  t.same(
    failures.map((e) => (e.data as { reason: string }).reason),
    ["replayed_code", "replayed_code", "replayed_code", "bad_code", "bad_code", "bad_recovery_code"],
    "replays are told apart in the audit trail",
  );
  t.ok(failures.every((e) => e.actorType === "user" && e.actorId === user.id && e.ip === "203.0.113.7"), "recorded for the account, with the IP");
});

t.test("concurrent uses of one code: exactly one succeeds", async (t) => {
  const { verify, secret } = await enrolled(t);
  await awayFromStepBoundary();
  const code = oathCodeAt(secret, 1);
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => verify(code)));
  t.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of results) if (r.status === "rejected") t.equal((r.reason as AppError).code, "invalid_mfa_code");
});

t.test("ten wrong codes from any IPs lock the account for the window; 429 even for the right code", async (t) => {
  const { verify, secret, prisma, tenant, user, api } = await enrolled(t);
  await awayFromStepBoundary();
  const right = oathCodeAt(secret, 1);
  const wrong = right === "000000" ? "111111" : "000000";
  const stepBefore = (await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).lastUsedStep;
  for (let i = 1; i <= 10; i++) {
    const err = await rejection(t, verify(i % 2 ? wrong : "zzzzz-zzzzz-zzzzz", `198.51.100.${i}`));
    t.equal(err.code, "invalid_mfa_code", `failure ${i} from its own IP`);
  }
  const locked = await rejection(t, verify(right, "192.0.2.99"));
  t.equal(locked.status, 429, "the 11th attempt is refused, right code or not");
  t.equal(locked.code, "rate_limited");
  const retryAfter = locked.extras.retryAfter as number;
  t.ok(retryAfter > 880 && retryAfter <= 900, `retry after ~15 minutes (${retryAfter} s)`);
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).lastUsedStep, stepBefore, "the right code was not consumed");

  const lockedEvents = await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: "auth.mfa_locked" } });
  t.equal(lockedEvents.length, 1, "one auth.mfa_locked event");
  t.equal(lockedEvents[0]?.actorId, user.id);
  t.match(lockedEvents[0]?.data, { failures: 10 });
  t.equal((await rejection(t, verify(wrong))).status, 429);
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "auth.mfa_failed" } }), 10, "locked attempts are not counted again");

  // The API's MFA actions share the lock and answer 429 with Retry-After.
  const res = await api.post("/v1/me/mfa/recovery-codes", { password: user.password });
  t.equal(res.status, 429);
  t.ok(Number(res.headers["retry-after"]) > 0);
  t.equal((await api.request("DELETE", "/v1/me/mfa/totp", { body: { password: user.password } })).status, 429);
  t.equal(await prisma.mfaFactor.count({ where: { userId: user.id } }), 1, "not disabled while locked");

  // Once the window has passed, the right code works and the count starts again.
  await prisma.mfaFactor.update({ where: { userId: user.id }, data: { failWindowFrom: new Date(Date.now() - 15 * 60_000 - 1000) } });
  t.same(await verify(right), { method: "totp" });
  const factor = await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } });
  t.equal(factor.failedCount, 0);
  t.equal(factor.failWindowFrom, null);
});

t.test("a lapsed window starts a new count instead of adding to the old one", async (t) => {
  const { verify, prisma, user } = await enrolled(t);
  await prisma.mfaFactor.update({ where: { userId: user.id }, data: { failedCount: 9, failWindowFrom: new Date(Date.now() - 16 * 60_000) } });
  t.equal((await rejection(t, verify("000000"))).status, 401);
  const factor = await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } });
  t.equal(factor.failedCount, 1);
  t.ok(factor.failWindowFrom && Date.now() - factor.failWindowFrom.getTime() < 60_000);
});

t.test("a recovery code works once, in any case and spacing", async (t) => {
  const { verify, recoveryCodes, prisma, tenant, mfa, user } = await enrolled(t);
  const [first, second] = recoveryCodes as [string, string];
  t.same(await verify(first), { method: "recovery_code" });
  t.equal((await rejection(t, verify(first))).code, "invalid_mfa_code", "used once only");
  t.same(await verify(second.toUpperCase().replace(/-/g, " ")), { method: "recovery_code" }, "upper case, spaces");
  t.equal((await mfa.status(user.id)).recoveryCodesRemaining, 8);

  const used = await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: "auth.recovery_code_used" }, orderBy: { seq: "asc" } });
  t.same(used.map((e) => e.data), [{ remaining: 9 }, { remaining: 8 }]);
  t.ok(used.every((e) => e.actorId === user.id));

  const third = recoveryCodes[2] as string;
  const race = await Promise.allSettled([verify(third), verify(third), verify(third)]);
  t.equal(race.filter((r) => r.status === "fulfilled").length, 1, "concurrent uses of one code: one wins");
  t.equal(await prisma.recoveryCode.count({ where: { userId: user.id, usedAt: null } }), 7);
});

t.test("verification needs an enabled factor and the account's own actor", async (t) => {
  const { prisma, mfa, tenant, secret, who } = await enrolled(t);
  const plain = await createUser(prisma, { tenantId: tenant.id, role: "viewer" });
  const err = await rejection(t, mfa.verifySecondFactor(signInActor(), { id: plain.id, email: plain.email, tenantId: tenant.id }, "123456"));
  t.equal(err.status, 409);
  t.equal(err.code, "mfa_not_enabled");
  t.equal(await mfa.hasConfirmedFactor(plain.id), false);
  t.same(await mfa.status(plain.id), { enabled: false, confirmedAt: null, recoveryCodesRemaining: 0 });

  // A signed-in user acting on someone else's factor is refused before anything is counted.
  const other = await createUser(prisma, { tenantId: tenant.id, role: "owner" });
  const actorOfOther = { ...signInActor(), principal: { kind: "user" as const, userId: other.id, email: other.email, tenantId: tenant.id, tenantKind: "customer" as const, role: "owner" as const, sessionId: "s" } };
  const forbidden = await rejection(t, mfa.verifySecondFactor(actorOfOther, who, oathCode(secret)));
  t.equal(forbidden.status, 403);
  t.equal((await rejection(t, mfa.disable(actorOfOther, who, "x"))).status, 403);
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: who.id } })).failedCount, 0, "nothing counted");
});
