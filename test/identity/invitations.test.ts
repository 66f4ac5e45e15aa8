import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import t, { type Test } from "tap";
import { createWorld } from "../helpers/factories.js";
import { awayFromStepEnd, browser, buildForIdentity, invitationTokenFor, totp, type Browser } from "./browser.js";
import type { TestApp } from "../helpers/build.js";

const GOOD_PASSWORD = "violet anchor meadow 77";

async function signedIn(app: TestApp, user: { email: string; password: string }): Promise<Browser> {
  const c = browser(app);
  const res = await c.signIn(user.email, user.password);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return c;
}

t.test("an owner invites; the mail carries a single-use link; accepting creates the account and signs in", async (t) => {
  const app = await buildForIdentity(t, { PUBLIC_URL: "https://portal.example.com/" });
  const w = await createWorld(app.prisma);
  const owner = await signedIn(app, w.usersA.owner);
  const staff = await signedIn(app, w.staff.owner);

  const created = await owner.post("/v1/invitations", { email: "New.Person@Example.com", role: "operator" });
  t.equal(created.status, 201);
  t.match(created.json, { email: "new.person@example.com", role: "operator", status: "pending", tenantId: w.tenantA.id, invitedBy: { id: w.usersA.owner.id }, acceptedAt: null });
  const days = (Date.parse(created.json.expiresAt) - Date.now()) / 86_400_000;
  t.ok(days > 6.9 && days <= 7, "valid 7 days");
  t.notMatch(created.body, /token/i, "the token is never in an API answer");

  const { token, text } = await invitationTokenFor(staff, "new.person@example.com");
  t.match(text, `https://portal.example.com/invitations/accept#token=${token}`, "the link carries the token in its fragment");
  const row = await app.prisma.invitation.findUniqueOrThrow({ where: { id: created.json.id } });
  t.equal(row.tokenHash, createHash("sha256").update(token).digest("hex"), "stored only as its hash");
  const mail = await app.prisma.mailMessage.findFirstOrThrow({ where: { to: "new.person@example.com" } });
  t.match(mail, { transport: "outbox", tenantId: w.tenantA.id, sentAt: null });

  // Refusals change nothing: the invitation stays pending.
  const anonymous = browser(app);
  const weak = await anonymous.post("/v1/invitations/accept", { token, name: "New Person", password: "password1234" });
  t.equal(weak.status, 400);
  t.same(weak.json.errors, [{ field: "/body/password", reason: "is one of the most commonly used passwords; choose another" }]);
  const short = await anonymous.post("/v1/invitations/accept", { token, name: "New Person", password: "short" });
  t.equal(short.status, 400);
  t.equal(short.json.errors[0].field, "/body/password");
  const nameless = await anonymous.post("/v1/invitations/accept", { token, password: GOOD_PASSWORD });
  t.equal(nameless.status, 400);
  t.equal(nameless.json.errors[0].field, "/body/name");
  t.equal(await app.prisma.user.count({ where: { email: "new.person@example.com" } }), 0);

  const accepted = await anonymous.post("/v1/invitations/accept", { token, name: "New Person", password: GOOD_PASSWORD });
  t.equal(accepted.status, 200);
  t.equal(accepted.json.status, "authenticated");
  t.match(accepted.json.session, { role: "operator", tenant: { id: w.tenantA.id }, user: { email: "new.person@example.com", name: "New Person" } });
  t.equal((await anonymous.get("/v1/me")).status, 200, "signed in");

  const again = await browser(app).post("/v1/invitations/accept", { token, name: "Someone Else", password: GOOD_PASSWORD });
  t.equal(again.status, 410, "single use");
  t.equal(again.json.code, "invitation_used");
  t.equal((await browser(app).signIn("new.person@example.com", GOOD_PASSWORD)).status, 200, "the new account signs in with its password");

  const listed = await owner.get("/v1/invitations?status=accepted");
  t.same(listed.json.items.map((i: { id: string }) => i.id), [created.json.id]);
  const actions = (await app.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { in: ["user.invited", "invitation.accepted", "auth.login_succeeded"] } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  // The owner's sign-in, the invitation, its acceptance with its sign-in, then the later password sign-in.
  t.same(actions, ["auth.login_succeeded", "user.invited", "invitation.accepted", "auth.login_succeeded", "auth.login_succeeded"]);
});

t.test("expired, revoked and unknown invitations are refused with their reason", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const admin = await signedIn(app, w.usersA.admin);
  const staff = await signedIn(app, w.staff.owner);

  const late = await admin.post("/v1/invitations", { email: "late@example.com", role: "viewer" });
  await app.prisma.invitation.update({ where: { id: late.json.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const expired = await browser(app).post("/v1/invitations/accept", { token: (await invitationTokenFor(staff, "late@example.com")).token, name: "Late", password: GOOD_PASSWORD });
  t.equal(expired.status, 410);
  t.equal(expired.json.code, "invitation_expired");
  t.equal((await admin.get("/v1/invitations?status=expired")).json.items[0]?.id, late.json.id);

  const revokedInvite = await admin.post("/v1/invitations", { email: "revoked@example.com", role: "viewer" });
  const del = await admin.delete(`/v1/invitations/${revokedInvite.json.id}`);
  t.equal(del.status, 204);
  t.equal((await admin.delete(`/v1/invitations/${revokedInvite.json.id}`)).json.code, "invitation_not_pending", "revoking twice: 409");
  const revoked = await browser(app).post("/v1/invitations/accept", { token: (await invitationTokenFor(staff, "revoked@example.com")).token, name: "Rev", password: GOOD_PASSWORD });
  t.equal(revoked.status, 410);
  t.equal(revoked.json.code, "invitation_revoked");

  const unknown = await browser(app).post("/v1/invitations/accept", { token: "A".repeat(43), name: "Nobody", password: GOOD_PASSWORD });
  t.equal(unknown.status, 404);
  t.equal(unknown.json.code, "invitation_not_found");
  const malformed = await browser(app).post("/v1/invitations/accept", { token: "short", password: "" });
  t.equal(malformed.status, 400);
  t.equal(await app.prisma.user.count({ where: { email: { in: ["late@example.com", "revoked@example.com"] } } }), 0, "no account was created");
  const events = await app.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "invitation.revoked" } });
  t.equal(events.length, 1);
});

t.test("roles and tenants: who may invite, list and revoke", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const admin = await signedIn(app, w.usersA.admin);
  const owner = await signedIn(app, w.usersA.owner);

  for (const role of ["operator", "billing", "viewer"] as const) {
    const c = await signedIn(app, w.usersA[role]);
    t.equal((await c.post("/v1/invitations", { email: `x-${role}@example.com`, role: "viewer" })).status, 403, `${role} cannot invite`);
    t.equal((await c.get("/v1/invitations")).status, 403, `${role} cannot list`);
  }
  const ownerInvite = await admin.post("/v1/invitations", { email: "boss@example.com", role: "owner" });
  t.equal(ownerInvite.status, 403, "an admin cannot invite an owner");
  t.equal((await owner.post("/v1/invitations", { email: "boss@example.com", role: "owner" })).status, 201, "an owner can");
  t.equal(await app.prisma.invitation.count({ where: { email: { startsWith: "x-" } } }), 0, "refused invitations created nothing");

  const member = await owner.post("/v1/invitations", { email: w.usersA.viewer.email.toUpperCase(), role: "admin" });
  t.equal(member.status, 409);
  t.equal(member.json.code, "already_member");
  const twice = await admin.post("/v1/invitations", { email: "boss@example.com", role: "viewer" });
  t.equal(twice.status, 409);
  t.equal(twice.json.code, "invitation_pending");

  // Tenant B's invitation is invisible to tenant A.
  const ownerB = await signedIn(app, w.usersB.owner);
  const inviteB = await ownerB.post("/v1/invitations", { email: "b-person@example.com", role: "viewer" });
  t.equal((await owner.delete(`/v1/invitations/${inviteB.json.id}`)).status, 404);
  t.equal((await app.prisma.invitation.findUniqueOrThrow({ where: { id: inviteB.json.id } })).revokedAt, null, "still pending");
  t.notOk((await owner.get("/v1/invitations")).json.items.some((i: { id: string }) => i.id === inviteB.json.id), "not listed");
  t.same((await owner.get(`/v1/invitations?tenantId=${w.tenantB.id}`)).json.items, [], "not even when asked for by tenant");
  const intoB = await owner.post("/v1/invitations", { email: "sneak@example.com", role: "viewer", tenantId: w.tenantB.id });
  t.equal(intoB.status, 404, "a customer cannot invite into another tenant");
  t.equal(await app.prisma.invitation.count({ where: { email: "sneak@example.com" } }), 0);
  const operator = await signedIn(app, w.usersA.operator);
  const ownA = await owner.get("/v1/invitations");
  t.equal((await operator.delete(`/v1/invitations/${ownA.json.items[0].id}`)).status, 403, "an operator cannot revoke");
});

t.test("platform staff invite a customer's first owner, and only they read the outbox", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const staff = await signedIn(app, w.staff.owner);
  const res = await staff.post("/v1/invitations", { email: "founder@customer.example", role: "owner", tenantId: w.tenantB.id });
  t.equal(res.status, 201);
  t.equal(res.json.tenantId, w.tenantB.id);
  t.equal((await staff.get(`/v1/invitations?tenantId=${w.tenantB.id}`)).json.items.length, 1);

  for (const [label, user] of [["platform viewer", w.staff.viewer], ["customer owner", w.usersA.owner], ["customer admin", w.usersA.admin]] as const) {
    const c = await signedIn(app, user);
    t.equal((await c.get("/v1/platform/outbox")).status, 403, `${label} cannot read the outbox`);
  }
  t.equal((await browser(app).get("/v1/platform/outbox")).status, 401);

  const { token } = await invitationTokenFor(staff, "founder@customer.example");
  const accepted = await browser(app).post("/v1/invitations/accept", { token, name: "Founder", password: GOOD_PASSWORD });
  t.equal(accepted.status, 200);
  t.match(accepted.json.session, { role: "owner", tenant: { id: w.tenantB.id } });
  const event = await app.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantB.id, action: "user.invited" } });
  t.equal(event.actorId, w.staff.owner.id, "recorded in the customer's audit chain, by the staff member");
});

t.test("an existing account accepts with its own password and joins a second tenant", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const ownerA = await signedIn(app, w.usersA.owner);
  const staff = await signedIn(app, w.staff.owner);
  const guest = w.usersB.billing;
  t.equal((await ownerA.post("/v1/invitations", { email: guest.email, role: "viewer" })).status, 201);
  const { token } = await invitationTokenFor(staff, guest.email);

  const wrong = await browser(app).post("/v1/invitations/accept", { token, password: GOOD_PASSWORD });
  t.equal(wrong.status, 401, "the invitation alone does not take over an account");
  t.equal(wrong.json.code, "invalid_credentials");
  t.equal(await app.prisma.membership.count({ where: { userId: guest.id } }), 1);

  const ok = await browser(app).post("/v1/invitations/accept", { token, name: "Ignored", password: guest.password });
  t.equal(ok.status, 200);
  t.match(ok.json.session, { role: "viewer", tenant: { id: w.tenantA.id }, user: { id: guest.id, name: "Test billing" } });
  t.equal(await app.prisma.membership.count({ where: { userId: guest.id } }), 2);
  const ambiguous = await browser(app).signIn(guest.email, guest.password);
  t.equal(ambiguous.json.code, "tenant_required", "now in two tenants");
});

/** A minimal SMTP server on the loopback interface: records each message it is given. */
async function smtpServer(t: Test): Promise<{ url: string; messages: string[] }> {
  const messages: string[] = [];
  const server: Server = createServer((socket) => {
    socket.setEncoding("utf8");
    socket.write("220 test ESMTP\r\n");
    let buffer = "";
    let data: string[] | null = null;
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (data) {
          if (line === ".") {
            messages.push(data.join("\n"));
            data = null;
            socket.write("250 OK queued\r\n");
          } else data.push(line.startsWith("..") ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-test\r\n250 8BITMIME\r\n");
        else if (verb === "DATA") {
          data = [];
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 OK\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { url: `smtp://127.0.0.1:${address.port}`, messages };
}

const quotedPrintable = (s: string) => s.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

t.test("with SMTP_URL the mail goes out over SMTP after the commit, and the stored copy has no link", async (t) => {
  const smtp = await smtpServer(t);
  const app = await buildForIdentity(t, { SMTP_URL: smtp.url, MAIL_FROM: "Conekt <noreply@conekt.test>" });
  const w = await createWorld(app.prisma);
  const owner = await signedIn(app, w.usersA.owner);
  t.equal((await owner.post("/v1/invitations", { email: "smtp-person@example.com", role: "viewer" })).status, 201);

  t.equal(smtp.messages.length, 1);
  const message = quotedPrintable(smtp.messages[0]!);
  t.match(message, /^From: Conekt <noreply@conekt\.test>$/m);
  t.match(message, /^To: smtp-person@example\.com$/m);
  const token = /invitations\/accept#token=([A-Za-z0-9_-]{43})/.exec(message)?.[1];
  t.ok(token, "the mail carries the link");

  const row = await app.prisma.mailMessage.findFirstOrThrow({ where: { to: "smtp-person@example.com" } });
  t.equal(row.transport, "smtp");
  t.ok(row.sentAt);
  t.equal(row.error, null);
  t.notMatch(row.text, token!, "the kept copy cannot be used to accept");
  t.match(row.text, "#token=[removed]");

  const accepted = await browser(app).post("/v1/invitations/accept", { token, name: "Smtp Person", password: GOOD_PASSWORD });
  t.equal(accepted.status, 200, "the token from the delivered mail works");
});

t.test("a failing mail server does not undo the invitation; the failure is recorded", async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const app = await buildForIdentity(t, { SMTP_URL: `smtp://127.0.0.1:${port}` });
  const w = await createWorld(app.prisma);
  const owner = await signedIn(app, w.usersA.owner);
  const res = await owner.post("/v1/invitations", { email: "unlucky@example.com", role: "viewer" });
  t.equal(res.status, 201, "the invitation stands (revoke and invite again to resend)");
  const row = await app.prisma.mailMessage.findFirstOrThrow({ where: { to: "unlucky@example.com" } });
  t.equal(row.transport, "smtp");
  t.equal(row.sentAt, null);
  t.ok(row.error, `the error is kept: ${row.error}`);
});

t.test("accepting into a tenant that requires MFA leads to enrolment before any session", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const owner = await signedIn(app, w.usersA.owner);
  const staff = await signedIn(app, w.staff.owner);
  await app.prisma.tenant.update({ where: { id: w.tenantA.id }, data: { settings: { mfaRequired: true } } });
  t.equal((await owner.post("/v1/invitations", { email: "careful@example.com", role: "viewer" })).status, 201);
  const { token } = await invitationTokenFor(staff, "careful@example.com");

  const c = browser(app);
  const accepted = await c.post("/v1/invitations/accept", { token, name: "Careful", password: GOOD_PASSWORD });
  t.equal(accepted.status, 200);
  t.equal(accepted.json.status, "mfa_enrollment_required");
  t.equal(c.jar.size, 0, "no session cookie yet");
  t.equal(await app.prisma.membership.count({ where: { tenantId: w.tenantA.id, user: { email: "careful@example.com" } } }), 1, "but the account has joined");

  const begun = await c.post("/v1/auth/mfa/enrol", { mfaToken: accepted.json.mfaToken });
  t.equal(begun.status, 200);
  await awayFromStepEnd();
  const done = await c.post("/v1/auth/mfa/enrol/confirm", { mfaToken: accepted.json.mfaToken, code: totp(begun.json.secret) });
  t.equal(done.status, 200);
  t.match(done.json.session, { role: "viewer", user: { email: "careful@example.com" } });
  t.equal((await c.get("/v1/me")).status, 200);
});
