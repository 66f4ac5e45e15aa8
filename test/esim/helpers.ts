import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeEid, makeIccid } from "../../src/platform/identifiers.js";

const run = promisify(execFile);

const digits = (n: number) => [...randomBytes(n)].map((b) => String(b % 10)).join("");

/**
 * A SIM of the tenant, an active eSIM unless told otherwise. Its own numbers (random, ICCID with its Luhn
 * digit): the shared factory's MSISDNs repeat within a process (its counter is cut off by the 15-digit limit).
 */
export function createEsim(prisma: PrismaClient, tenantId: string, opts: { status?: "inventory" | "active" | "terminated"; eid?: string; formFactor?: "esim" | "ff4" } = {}) {
  const serial = digits(12);
  return prisma.sim.create({
    data: {
      tenantId,
      iccid: makeIccid(`894902${serial}`),
      imsi: `26201${digits(9)}0`,
      msisdn: `4915${digits(10)}`,
      formFactor: opts.formFactor ?? "esim",
      status: opts.status ?? "active",
      ...(opts.eid ? { eid: opts.eid } : {}),
    },
  });
}

/** A valid EID (SGP.29 check digits) with random digits. */
export function randomEid(): string {
  return makeEid(`89${digits(28)}`);
}

/** A platform API key with the scopes the SM-DP+ integration uses (network:write). */
export async function platformKey(prisma: PrismaClient, platformId: string, scopes: Array<"network:write" | "sims:read" | "esim:write"> = ["network:write"]): Promise<string> {
  const { key } = await issueApiKey(prisma, systemActor("test"), { tenantId: platformId, name: `smdp-${randomBytes(3).toString("hex")}`, scopes, expiresAt: null, createdById: null });
  return key;
}

export async function tenantKey(prisma: PrismaClient, tenantId: string, scopes: Array<"sims:read" | "esim:write" | "tenant:read">): Promise<string> {
  const { key } = await issueApiKey(prisma, systemActor("test"), { tenantId, name: `esim-${randomBytes(3).toString("hex")}`, scopes, expiresAt: null, createdById: null });
  return key;
}

/** A subscribed webhook endpoint, so state changes leave delivery rows to look at (jobs are not running). */
export function subscribe(prisma: PrismaClient, tenantId: string) {
  return prisma.webhookEndpoint.create({ data: { tenantId, url: "https://hooks.example.com/esim", events: ["esim.profile_state_changed"], secretEncrypted: "unused-in-this-test" } });
}

/** An ES2+ HandleDownloadProgressInfo body. */
export function progressInfo(iccid: string, notificationPointId: number, status: "Executed-Success" | "Failed" | "Expired" = "Executed-Success", extra: Record<string, unknown> = {}) {
  return {
    header: { functionRequesterIdentifier: "smdp.example", functionCallIdentifier: randomBytes(8).toString("hex") },
    iccid,
    profileType: "P9054-2",
    timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    notificationPointId,
    notificationPointStatus: status === "Executed-Success" ? { status } : { status, statusCodeData: { subjectCode: "8.1", reasonCode: "4.8", message: "Insufficient memory" } },
    ...extra,
  };
}

/** Decodes the QR code(s) in an image file with zbarimg (Debian package zbar-tools): the raw text. */
export async function zbarDecode(file: string): Promise<string> {
  const { stdout } = await run("zbarimg", ["--raw", "-q", file]);
  return stdout.replace(/\n$/, "");
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "conekt-esim-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Rasterises the SVG the `qrcode` package draws (a white square, then one path of 1-unit-wide horizontal
 * strokes: `M x y.5 h n m dx dy h n ...`) into a binary PGM image, 8 pixels per unit, so zbarimg can read
 * what the SVG actually shows. Anything outside that dialect throws, so a changed SVG cannot pass silently.
 */
export async function svgToPgm(svg: string, file: string): Promise<void> {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  const d = /<path stroke="#000000" d="([^"]+)"/.exec(svg);
  if (!viewBox || !d) throw new Error("not the qrcode package's SVG");
  const size = Number(viewBox[1]);
  const dark: boolean[][] = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  for (const [, cmd, args] of d[1]!.matchAll(/([MmHhVv])([^MmHhVv]*)/g)) {
    const n = args!.trim().split(/[\s,]+/).filter(Boolean).map(Number);
    if (cmd === "M") [x, y] = [n[0]!, n[1]!];
    else if (cmd === "m") [x, y] = [x + n[0]!, y + n[1]!];
    else if (cmd === "h") {
      for (let i = 0; i < n[0]!; i++) dark[Math.floor(y)]![x + i] = true;
      x += n[0]!;
    } else throw new Error(`unexpected path command ${cmd}`);
  }
  const scale = 8;
  const px = size * scale;
  const pixels = Buffer.alloc(px * px);
  for (let r = 0; r < px; r++) for (let c = 0; c < px; c++) pixels[r * px + c] = dark[Math.floor(r / scale)]![Math.floor(c / scale)] ? 0 : 255;
  await writeFile(file, Buffer.concat([Buffer.from(`P5\n${px} ${px}\n255\n`), pixels]));
}

export interface FakeSmdp {
  url: string;
  /** Every request received: path, headers, parsed body. */
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: Record<string, any> }>;
  close(): Promise<void>;
}

export type SmdpHandler = (path: string, body: Record<string, any>) => { status?: number; json?: unknown; delayMs?: number } | undefined;

/** An ES2+ answer with the given execution status. */
export const es2 = (fields: Record<string, unknown> = {}, status = "Executed-Success", statusCodeData?: Record<string, string>) => ({
  header: { functionExecutionStatus: { status, ...(statusCodeData ? { statusCodeData } : {}) } },
  ...fields,
});

/** A local SM-DP+ speaking ES2+ (HTTP, or HTTPS when given a server built with TLS options). */
export async function startFakeSmdp(handler: SmdpHandler, server: http.Server | https.Server = http.createServer()): Promise<FakeSmdp> {
  const requests: FakeSmdp["requests"] = [];
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, any>;
      const path = req.url ?? "";
      requests.push({ path, headers: req.headers, body });
      const answer = handler(path, body) ?? { json: es2() };
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, { "content-type": "application/json;charset=UTF-8", "x-admin-protocol": "gsma/rsp/v2.2.0" });
        res.end(answer.json === undefined ? "" : JSON.stringify(answer.json));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = "setSecureContext" in server ? "https" : "http";
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl, as PEM files. */
export async function makeCertificates(dir: string) {
  const f = (name: string) => join(dir, name);
  const ossl = (...args: string[]) => run("openssl", args);
  await ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Test CA", "-keyout", f("ca.key"), "-out", f("ca.pem"));
  await writeFile(f("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const who of ["server", "client"]) {
    await ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${who}`, "-keyout", f(`${who}.key`), "-out", f(`${who}.csr`));
    await ossl("x509", "-req", "-in", f(`${who}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f(`${who}.pem`), ...(who === "server" ? ["-extfile", f("server.ext")] : []));
  }
  return { ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key") };
}
