import { SCHEDULES, type JobName, type JobPayloads } from "../../../jobs/queues.js";
import { BACKOFF_BASE_MS, DEFAULT_ATTEMPTS, type EnqueueOptions, type JobRunner, type Processors } from "./job-runner.js";

/**
 * The embedded default without Redis: the same processors, run in this process with retries and backoff.
 * Jobs are not durable across restarts; schedules re-run at start, which covers the maintenance jobs.
 */
export function createInProcessRunner(processors: Processors, log: (msg: string) => void): JobRunner {
  const running = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const seenIds = new Set<string>();
  let closed = false;

  function track(p: Promise<void>): void {
    running.add(p);
    void p.finally(() => running.delete(p));
  }

  async function run<N extends JobName>(name: N, data: JobPayloads[N], attempts: number): Promise<void> {
    const processor = processors[name] as Processors[N];
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      try {
        await processor(data, { attempt, progress: async () => undefined, log });
        return;
      } catch (err) {
        log(`job ${name} attempt ${attempt}/${attempts} failed: ${(err as Error).message}`);
        if (attempt < attempts) await sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1));
      }
    }
  }

  function later(fn: () => void, ms: number, repeat: boolean): void {
    const timer = repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
    timer.unref();
    timers.add(timer);
  }

  return {
    kind: "in-process",
    async enqueue(name, data, opts: EnqueueOptions = {}) {
      if (closed) throw new Error("job runner is closed");
      if (opts.jobId) {
        if (seenIds.has(opts.jobId)) return;
        seenIds.add(opts.jobId);
      }
      const go = () => track(run(name, data, opts.attempts ?? DEFAULT_ATTEMPTS));
      if (opts.delayMs) later(go, opts.delayMs, false);
      else setImmediate(go);
    },
    async start() {
      for (const s of SCHEDULES) {
        const go = () => track(run(s.job, s.data as never, DEFAULT_ATTEMPTS));
        setImmediate(go);
        later(go, s.everyMs, true);
      }
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...running]);
    },
    async ping() {},
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
