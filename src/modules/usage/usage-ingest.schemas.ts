import { Type, type Static } from "typebox";

/**
 * POST /v1/usage/records. The request body is not described here: it reaches the service as a stream (JSON
 * array, NDJSON or CSV, up to 10,000 records or 10 MB) and is checked record by record by ingest-parse.ts, so
 * a bad record is rejected alone. openapi.yaml documents the record (`UsageRecordInput`).
 */

export const UsageRejectionView = Type.Object({
  index: Type.Integer({ minimum: 0, description: "Position in the request, 0-based (array element, NDJSON line, CSV data row)." }),
  sourceId: Type.Optional(Type.String({ description: "The record's sourceId, when it had a readable one." })),
  field: Type.Union([Type.String(), Type.Null()], { description: "The offending field, or null when the record as a whole is unreadable." }),
  code: Type.String({ description: "Stable: invalid_json, invalid_value, missing_field, unknown_sim, sim_mismatch, ..." }),
  reason: Type.String(),
});

export const UsageIngestResult = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
  rejections: Type.Array(UsageRejectionView),
});
export type UsageIngestResult = Static<typeof UsageIngestResult>;
