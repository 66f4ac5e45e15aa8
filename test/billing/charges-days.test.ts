import t from "tap";
import { popcount, simPlanDays, wholePeriod, type SimHistory } from "../../src/modules/billing/charges-days.js";
import { parsePeriod } from "../../src/modules/billing/period.js";

/** The day arithmetic alone (no database): which days of a period a SIM's history makes billable or suspended. */
const JAN = parsePeriod("2027-01")!; // 31 days
const FEB = parsePeriod("2027-02")!; // 28 days
const ms = (iso: string) => Date.parse(iso);
const ev = (effect: "t" | "b" | "r" | "n", iso: string) => `${effect}${ms(iso)}`;

/** A SIM on plan P since 2020 with these events. */
const sim = (events: string[], extra: Partial<SimHistory> = {}): SimHistory => ({
  status: "active",
  createdMs: ms("2020-01-01T00:00:00Z"),
  events: events.length,
  history: events.join(",") || null,
  activatedMs: null,
  plans: "P 2020-01-01",
  ...extra,
});
/** Day numbers (1-based dates) of a mask. */
const dates = (mask: number) => [...Array(31).keys()].filter((i) => (mask >> i) & 1).map((i) => i + 1);

t.test("a span touches the days from its start to its last instant; one ending at midnight does not touch that day", async (t) => {
  const [d] = simPlanDays(sim([ev("b", "2027-01-03T10:00:00Z"), ev("r", "2027-01-05T00:00:00.000Z"), ev("n", "2027-01-07T00:00:00.001Z")]), JAN);
  t.same(dates(d!.billable), [3, 4]);
  t.same(dates(d!.suspended), [5, 6, 7], "suspended until a millisecond into the 7th");
  t.equal(d!.charged, d!.billable | d!.suspended);
});

t.test("active at any moment makes the day billable, never suspended; a zero-length span touches nothing", async (t) => {
  const [d] = simPlanDays(sim([ev("r", "2026-12-01T00:00:00Z"), ev("b", "2027-01-10T08:00:00Z"), ev("r", "2027-01-10T09:00:00Z"), ev("b", "2027-01-20T12:00:00Z"), ev("r", "2027-01-20T12:00:00Z")]), JAN);
  t.same(dates(d!.billable), [10], "the 20th's active span lasted no time");
  t.equal(popcount(d!.suspended), 30);
});

t.test("the first and the last day of a 31-day and a 28-day month; no events: the status since creation", async (t) => {
  t.equal(simPlanDays(sim([ev("b", "2026-06-01T00:00:00Z")]), JAN)[0]!.charged, wholePeriod(JAN));
  t.equal(popcount(wholePeriod(JAN)), 31);
  t.equal(popcount(wholePeriod(FEB)), 28);
  t.same(dates(simPlanDays(sim([ev("b", "2027-01-31T23:59:59.999Z")]), JAN)[0]!.billable), [31]);
  t.same(simPlanDays(sim([ev("b", "2027-02-01T00:00:00.000Z")]), JAN), [], "active from the next month: nothing in January");
  t.same(dates(simPlanDays(sim([], { status: "suspended", createdMs: ms("2027-02-27T15:00:00Z") }), FEB)[0]!.suspended), [27, 28]);
  t.same(simPlanDays(sim([], { status: "ready" }), FEB), [], "in test since creation");
  t.same(simPlanDays(sim([ev("b", "2026-01-01T00:00:00Z")], { plans: null }), FEB), [], "no plan");
});

t.test("plans cut the days; a SIM back on a plan it left has one entry; activation counts on the plan of its day", async (t) => {
  const days = simPlanDays(sim([ev("t", "2026-12-01T00:00:00Z"), ev("b", "2027-01-15T09:00:00Z")], { plans: "A 2020-01-01,B 2027-01-11,A 2027-01-21,C 2027-02-01", activatedMs: ms("2027-01-15T09:00:00Z") }), JAN);
  t.same(days.map((d) => [d.ratePlanId, dates(d.billable), d.activated]), [
    ["B", [15, 16, 17, 18, 19, 20], true],
    ["A", [21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31], false],
  ], "nothing on A from the 1st to the 10th: in test then; C starts after January");
});
