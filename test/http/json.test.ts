import t from "tap";
import { stringifyJson } from "../../src/http/json.js";

t.test("bigints serialise as numbers while exact, as strings beyond 2^53", async (t) => {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  t.equal(stringifyJson({ bytes: 1234n }), '{"bytes":1234}');
  t.equal(stringifyJson({ bytes: safe }), `{"bytes":${Number.MAX_SAFE_INTEGER}}`);
  t.equal(stringifyJson({ bytes: safe + 1n }), '{"bytes":"9007199254740992"}', "no silent precision loss");
  t.equal(stringifyJson({ bytes: -(safe + 2n) }), '{"bytes":"-9007199254740993"}');
  t.equal(stringifyJson({ nested: [{ n: 2n ** 70n }] }), '{"nested":[{"n":"1180591620717411303424"}]}');
});
