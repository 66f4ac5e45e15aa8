import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AppError, type FieldError } from "../platform/errors.js";

/**
 * One error handler for the whole service: everything leaves as RFC 9457 application/problem+json with a
 * stable `code` and the request id. Details of 5xx errors stay in the log, never in the response.
 */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";
export const problemType = (code: string) => `urn:conekt:problem:${code}`;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  instance?: string;
  errors?: FieldError[];
}

/** What a handler supplies; `type` and `requestId` are added here. Extra members (e.g. `allowed`) pass through. */
export type ProblemInput = Omit<Problem, "type" | "requestId"> & Record<string, unknown>;

/** Fastify's own 4xx errors, each given a stable code and a sentence a client can act on. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; title: string; detail?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: "unsupported_media_type", title: "Unsupported media type" },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, code: "invalid_content_type", title: "Invalid Content-Type header" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "payload_too_large", title: "Payload too large" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_content_length", title: "Invalid Content-Length" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "empty_json_body", title: "Empty JSON body", detail: "The Content-Type is application/json but the body is empty." },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "malformed_json", title: "Malformed JSON", detail: "The request body is not valid JSON." },
  FST_ERR_BAD_URL: { status: 400, code: "bad_url", title: "Malformed URL" },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: "bad_request", title: "Bad request" },
};

export function sendProblem(request: FastifyRequest, reply: FastifyReply, p: ProblemInput) {
  const body: Problem = { type: problemType(p.code), ...p, requestId: String(request.id) };
  return reply.status(p.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** Fastify/Ajv validation errors to field errors: `/body/email`, `/query/limit`... */
function fieldErrors(error: FastifyError): FieldError[] {
  // Fastify calls the query string "querystring"; clients know it as the query.
  const context = error.validationContext === "querystring" ? "query" : (error.validationContext ?? "body");
  return (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const missing = typeof params.missingProperty === "string" ? `/${params.missingProperty}` : "";
    const extra = typeof params.additionalProperty === "string" ? `/${params.additionalProperty}` : "";
    const field = `/${context}${v.instancePath}${missing}${extra}`;
    const reason = extra ? "is not an allowed property" : missing ? "is required" : (v.message ?? "is invalid");
    return { field, reason };
  });
}

function toProblem(error: FastifyError | AppError | Error): ProblemInput {
  if (error instanceof AppError) {
    return { status: error.status, code: error.code, title: error.title, detail: error.message, ...error.extras };
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const errors = fieldErrors(fe);
    const detail = errors.map((e) => `${e.field} ${e.reason}`).join("; ");
    return { status: 400, code: "validation_failed", title: "Validation failed", detail, errors };
  }
  // Malformed JSON surfaces as a SyntaxError with statusCode 400 from the JSON parser.
  if (error instanceof SyntaxError && fe.statusCode === 400) return { ...FASTIFY_ERRORS.FST_ERR_CTP_INVALID_JSON_BODY!, detail: "The request body is not valid JSON." };
  const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) return { ...known, detail: known.detail ?? fe.message };
  if (fe.statusCode === 429) return { status: 429, code: "rate_limited", title: "Too many requests", detail: fe.message };
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: "bad_request", title: "Bad request", detail: fe.message };
  }
  return { status: 500, code: "internal_error", title: "Internal server error", detail: "An unexpected error occurred. Quote the request id when reporting it." };
}

export const problemPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toProblem(error);
      if (problem.status >= 500) request.log.error({ err: error }, "request failed");
      else request.log.info({ code: problem.code, status: problem.status }, "request refused");
      if (error instanceof AppError && "retryAfter" in error.extras) reply.header("retry-after", String(error.extras.retryAfter));
      return sendProblem(request, reply, problem);
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(request, reply, {
        status: 404,
        code: "route_not_found",
        title: "Not found",
        detail: `No route ${request.method} ${request.url.split("?")[0]}.`,
      }),
    );
  },
  { name: "problem" },
);
