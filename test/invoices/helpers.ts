import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Role } from "../../src/generated/prisma/enums.js";
import type { TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { checkResponse } from "../helpers/contract.js";
import { createTenant, createUser } from "../helpers/factories.js";

/** Helpers of the invoice-reading tests: signed-in callers, binary downloads, PDF text. */

/** A member of `tenantId` with `role`, signed in (platform staff enrol MFA first, as they must). */
export async function signedIn(ctx: TestApp, tenantId: string, role: Role): Promise<Client> {
  const tenant = await ctx.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { slug: true, kind: true } });
  const user = await createUser(ctx.prisma, { tenantId, role });
  const client = ctx.client();
  const res = await client.login(user.email, user.password, tenant.slug, { enrolMfa: tenant.kind === "platform" });
  if (res.status !== 200) throw new Error(`sign-in as ${role} failed: ${res.status} ${res.body}`);
  return client;
}

export async function platformTenant(ctx: TestApp): Promise<string> {
  const existing = await ctx.prisma.tenant.findFirst({ where: { kind: "platform" }, select: { id: true } });
  return existing?.id ?? (await createTenant(ctx.prisma, { kind: "platform", slug: `platform-${randomBytes(4).toString("hex")}` })).id;
}

export interface Download {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  bytes: Buffer;
}

/**
 * GET as `client` keeping the body's bytes (the test client decodes bodies as UTF-8 text, which a PDF does not
 * survive), checked against openapi.yaml like every other answer.
 */
export async function download(client: Client, url: string, headers: Record<string, string> = {}): Promise<Download> {
  const res = await client.app.inject({ method: "GET", url, headers: { ...(client.cookie ? { cookie: client.cookie } : {}), ...client.defaults.headers, ...headers } });
  const violations = checkResponse("GET", url, res.statusCode, res.headers["content-type"] as string | undefined, res.body);
  if (violations.length) throw new Error(`openapi.yaml contract violated:\n  ${violations.join("\n  ")}`);
  return { status: res.statusCode, headers: res.headers, bytes: res.rawPayload };
}

const run = promisify(execFile);

/** The PDF's text as `pdftotext -layout` (Debian poppler-utils) lays it out; pages are separated by form feeds. */
export async function pdfText(pdf: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "conekt-pdf-"));
  try {
    const file = join(dir, "invoice.pdf");
    await writeFile(file, pdf);
    const { stdout } = await run("pdftotext", ["-layout", "-enc", "UTF-8", file, "-"], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** "1,234.50" or "-5.00" as minor units (cents), exactly. */
export function minorOf(printed: string): bigint {
  const m = /^(-?)([\d,]+)\.(\d{2})$/.exec(printed.trim());
  if (!m) throw new Error(`not an amount: ${printed}`);
  const v = BigInt(m[2]!.replace(/,/g, "") + m[3]!);
  return m[1] ? -v : v;
}

/** The last amount on the first line of `text` that contains `label`. */
export function amountAfter(text: string, label: string): bigint {
  const line = text.split("\n").find((l) => l.includes(label));
  if (!line) throw new Error(`no line with "${label}"`);
  const amounts = line.match(/-?[\d,]+\.\d{2}\b/g);
  if (!amounts) throw new Error(`no amount on the line "${line}"`);
  return minorOf(amounts[amounts.length - 1]!);
}

/** Parses a CSV of ours (RFC 4180, CRLF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
