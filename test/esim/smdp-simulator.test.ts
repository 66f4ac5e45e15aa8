import t from "tap";
import { Es2PlusError } from "../../src/connectors/smdp/es2plus-connector.js";
import { MATCHING_ID } from "../../src/connectors/smdp/matching-id.js";
import { createSmdpSimulator } from "../../src/connectors/smdp/smdp-simulator.js";
import { activationCode } from "../../src/modules/esim/activation-code.js";

const ICCID = "8949010000000000018";
const codes = (e: unknown) => (e instanceof Es2PlusError ? `${e.kind} ${e.statusCode?.subjectCode}/${e.statusCode?.reasonCode}` : String(e));

t.test("the simulator keeps SGP.22 order states and refuses like an SM-DP+", async (t) => {
  const smdp = createSmdpSimulator({ smdpAddress: "smdp.test.example" });
  t.equal(codes(await smdp.confirmOrder({ iccid: ICCID, releaseFlag: true }).catch((e) => e)), "rejected 8.2.1/3.9", "ConfirmOrder before DownloadOrder");
  t.same(await smdp.downloadOrder({ iccid: ICCID, eid: "89049032123451234512345678901235" }), { iccid: ICCID });
  t.equal(codes(await smdp.downloadOrder({ iccid: ICCID }).catch((e) => e)), "rejected 8.2.1/3.3", "one order per ICCID");
  t.equal(codes(await smdp.confirmOrder({ iccid: ICCID, eid: "89049032123451234512345678901236", releaseFlag: true }).catch((e) => e)), "rejected 8.1.1/3.10", "another EID than linked");
  const confirmed = await smdp.confirmOrder({ iccid: ICCID, releaseFlag: false });
  t.match(confirmed, { smdpAddress: "smdp.test.example", eid: "89049032123451234512345678901235" });
  t.match(confirmed.matchingId, MATCHING_ID);
  await smdp.releaseProfile({ iccid: ICCID });
  t.equal(codes(await smdp.releaseProfile({ iccid: ICCID }).catch((e) => e)), "rejected 8.2.1/3.5", "released once");
  t.equal(codes(await smdp.cancelOrder({ iccid: ICCID, matchingId: "WRONG-WRONG-WRONG-WRONG-WRONG", finalProfileStatusIndicator: "Available" }).catch((e) => e)), "rejected 8.2.6/3.8");
  await smdp.cancelOrder({ iccid: ICCID, matchingId: confirmed.matchingId, finalProfileStatusIndicator: "Available" });
  t.same(await smdp.downloadOrder({ iccid: ICCID }), { iccid: ICCID }, "Available again after CancelOrder");
  await smdp.cancelOrder({ iccid: ICCID, finalProfileStatusIndicator: "Unavailable" });
  t.equal(codes(await smdp.downloadOrder({ iccid: ICCID }).catch((e) => e)), "rejected 8.2.1/3.3", "retired with Unavailable");
  await smdp.cancelOrder({ iccid: "8949010000000000026", finalProfileStatusIndicator: "Available" });
  t.pass("an ICCID it does not know counts as Available (memory starts empty after a restart)");
});

t.test("matching ids are unique and in the SGP.22 alphabet; activation codes follow SGP.22 4.1", async (t) => {
  const smdp = createSmdpSimulator({ smdpAddress: "smdp.test.example" });
  const ids = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const iccid = `89490100000000${String(i).padStart(5, "0")}`;
    await smdp.downloadOrder({ iccid });
    ids.add((await smdp.confirmOrder({ iccid, releaseFlag: true })).matchingId);
  }
  t.equal(ids.size, 200);
  t.ok([...ids].every((id) => MATCHING_ID.test(id) && id.length <= 255));
  t.equal(activationCode("smdp.test.example", "ABCDE-12345-FGHIJ-67890-KLMNO", false), "LPA:1$smdp.test.example$ABCDE-12345-FGHIJ-67890-KLMNO");
  t.equal(activationCode("smdp.test.example", "ABCDE-12345-FGHIJ-67890-KLMNO", true), "LPA:1$smdp.test.example$ABCDE-12345-FGHIJ-67890-KLMNO$$1");
});
