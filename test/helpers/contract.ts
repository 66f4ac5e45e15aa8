import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import { OPENAPI_FILE } from "../../src/platform/paths.js";

/**
 * openapi.yaml as a checker: every response a test receives is validated against the operation it came from
 * (declared status, content type, body schema). So every test doubles as a contract test.
 */
type Json = Record<string, any>;

export const spec: Json = parse(readFileSync(OPENAPI_FILE, "utf8"));
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema(spec, "openapi");

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export interface Operation {
  method: string;
  path: string;
  operationId: string;
  regex: RegExp;
  /** The route as Fastify writes it: /v1/tenants/:id */
  fastifyPath: string;
}

export const operations: Operation[] = Object.entries(spec.paths as Json).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m) => ({
    method: m.toUpperCase(),
    path,
    operationId: item[m].operationId as string,
    regex: new RegExp(`^${path.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`),
    fastifyPath: path.replace(/\{([^}]+)\}/g, ":$1"),
  })),
);

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

function resolve(obj: Json): { obj: Json; ptr?: string } {
  if (typeof obj.$ref === "string" && obj.$ref.startsWith("#/")) {
    const path = obj.$ref.slice(2).split("/").map((p: string) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    let cur: Json = spec;
    for (const p of path) cur = cur[p];
    return { obj: cur, ptr: obj.$ref.slice(1) };
  }
  return { obj };
}

/** Returns a list of contract violations for one response (empty when it conforms). */
export function checkResponse(method: string, url: string, status: number, contentType: string | undefined, body: string): string[] {
  const path = url.split("?")[0]!;
  const op = operations.find((o) => o.method === method && o.regex.test(path));
  if (!op) return status === 404 || status === 405 ? [] : [`${method} ${path} is not in openapi.yaml but answered ${status}`];
  const responses = spec.paths[op.path][method.toLowerCase()].responses as Json;
  const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  if (!declared) return [`${op.operationId}: status ${status} is not declared (body: ${body.slice(0, 300)})`];
  const { obj: response, ptr } = resolve(declared);
  if (!response.content) return body.length ? [`${op.operationId} ${status}: declares no body but got ${body.slice(0, 100)}`] : [];
  const mediaType = (contentType ?? "").split(";")[0]!.trim();
  if (!response.content[mediaType]) return [`${op.operationId} ${status}: content type ${mediaType} is not declared (${Object.keys(response.content).join(", ")})`];
  if (!/json/.test(mediaType)) return [];
  const base = ptr ?? `/paths/${pointer(op.path)}/${method.toLowerCase()}/responses/${status}`;
  const validate = ajv.getSchema(`openapi#${base}/content/${pointer(mediaType)}/schema`);
  if (!validate) return [`${op.operationId} ${status}: no schema for ${mediaType}`];
  if (validate(JSON.parse(body))) return [];
  return (validate.errors ?? []).map((e) => `${op.operationId} ${status}: ${e.instancePath || "(root)"} ${e.message} — ${body.slice(0, 300)}`);
}
