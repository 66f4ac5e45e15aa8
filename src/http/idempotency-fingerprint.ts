import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Transform, pipeline, type Readable, type TransformCallback } from "node:stream";
import { ValidationError } from "../platform/errors.js";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** 1-255 visible ASCII characters (openapi.yaml `IdempotencyKey`): a UUID, a ULID, a job id... */
const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/**
 * The Idempotency-Key of a request: undefined without the header, else the key, or a 400 naming the header.
 * A repeated header reaches Node joined by ", ", which contains a space and so is refused here too.
 */
export function readIdempotencyKey(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value === "string" && KEY_PATTERN.test(value)) return value;
  const reason = "must be 1 to 255 visible ASCII characters (no spaces), sent once";
  throw new ValidationError(`/headers/${IDEMPOTENCY_KEY_HEADER} ${reason}`, [{ field: `/headers/${IDEMPOTENCY_KEY_HEADER}`, reason }]);
}

/**
 * What makes two requests "the same request": SHA-256 over the method, the URL as sent (path and query: a
 * query such as `?atomic=true` changes what an import does), the media type and the body BYTES.
 *
 * The raw bytes rather than a canonical form of the parsed body, because:
 * - Fastify has already parsed, defaulted and coerced a JSON body by the preHandler, and that mutated object is
 *   not what the client sent; CSV bodies are strings and other types may follow: bytes work for all of them.
 * - A retry resends the same bytes; a client that re-serialises differently (another key order) is sending
 *   a different request as far as the server can prove, and gets 422 rather than a guess.
 * The bytes are hashed while Fastify reads them (a transform in front of its body parser), so a large CSV
 * import is neither buffered twice nor hashed after the fact.
 */
export interface Fingerprint {
  /** The stream Fastify's body parser reads instead of the request: the same bytes, hashed on the way. */
  wrap(payload: Readable): Readable;
  /** The hex digest; call after the body was read (preHandler). */
  digest(): string;
}

export function createFingerprint(method: string, url: string, contentType: string | undefined): Fingerprint {
  const hash = createHash("sha256");
  // Newlines cannot occur in a method, a URL or a header value, so the fields cannot run into each other.
  hash.update(`${method}\n${url}\n${mediaType(contentType)}\n`);
  let digest: string | undefined;
  return {
    wrap(payload) {
      const hashing = new HashingStream(hash, payload);
      // pipeline() forwards a failure of the request stream (client gone) to the parser as an error.
      pipeline(payload, hashing, () => undefined);
      return hashing;
    },
    digest() {
      digest ??= hash.digest("hex");
      return digest;
    },
  };
}

/** `application/json; charset=utf-8` and `Application/JSON` describe the same bytes the same way. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

class HashingStream extends Transform {
  /** Fastify compares this with Content-Length and the body limit (see its preParsing documentation). */
  receivedEncodedLength = 0;

  constructor(
    private readonly hash: ReturnType<typeof createHash>,
    private readonly source: Readable & { receivedEncodedLength?: number },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.receivedEncodedLength = this.source.receivedEncodedLength ?? this.receivedEncodedLength + chunk.length;
    callback(null, chunk);
  }
}
