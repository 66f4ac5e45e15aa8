/**
 * Typed errors. Services throw these; one handler (src/http/problem.ts) turns them into RFC 9457
 * application/problem+json with a stable `code`. Anything else becomes a 500 whose detail stays in the log.
 */
export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. "/body/billingAddress/country". */
  field: string;
  reason: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    readonly extras: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, readonly errors: FieldError[] = []) {
    super(400, "validation_failed", "Validation failed", detail, { errors });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(detail = "Authentication is required.", code = "unauthenticated") {
    super(401, code, "Unauthenticated", detail);
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = "You are not allowed to do this.", code = "forbidden") {
    super(403, code, "Forbidden", detail);
  }
}

/** Also what another tenant's object answers: its existence is not disclosed. */
export class NotFoundError extends AppError {
  constructor(what: string, code = "not_found") {
    super(404, code, "Not found", `${what} was not found.`);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code = "conflict", extras: Record<string, unknown> = {}) {
    super(409, code, "Conflict", detail, extras);
  }
}

/** It existed but can no longer be used: an accepted, revoked or expired invitation. */
export class GoneError extends AppError {
  constructor(detail: string, code = "gone") {
    super(410, code, "Gone", detail);
  }
}

export class UnprocessableError extends AppError {
  constructor(detail: string, code = "unprocessable") {
    super(422, code, "Unprocessable request", detail);
  }
}

/** The request exceeds a size bound: its bytes (`payload_too_large`) or its item count (e.g. `too_many_records`). */
export class PayloadTooLargeError extends AppError {
  constructor(detail: string, code = "payload_too_large") {
    super(413, code, "Payload too large", detail);
  }
}

export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number, detail = "Too many requests; retry later.") {
    super(429, "rate_limited", "Too many requests", detail, { retryAfter: retryAfterSeconds });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(detail: string, code = "service_unavailable") {
    super(503, code, "Service unavailable", detail);
  }
}
