import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { JOB_QUEUE, QUEUES, SCHEDULES, type JobName, type QueueName } from "../../../jobs/queues.js";
import { BACKOFF_BASE_MS, DEFAULT_ATTEMPTS, type JobRunner, type Processors } from "./job-runner.js";

export interface BullmqRunnerOptions {
  redis: Redis;
  /** Key prefix; wrapped in braces so every key of a deployment hashes to one Redis Cluster slot. */
  prefix: string;
  processors: Processors;
  /** Run workers in this process (the worker entry does; the API process only enqueues). */
  work: boolean;
  concurrency?: number;
  log: (msg: string) => void;
}

export function createBullmqRunner(opts: BullmqRunnerOptions): JobRunner {
  const prefix = `{${opts.prefix}}`;
  const queues = new Map<QueueName, Queue>();
  const workers: Worker[] = [];
  // Workers block on connections of their own; we made them, so we close them.
  const workerConnections: Redis[] = [];
  const queue = (name: QueueName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: opts.redis,
        prefix,
        defaultJobOptions: {
          attempts: DEFAULT_ATTEMPTS,
          backoff: { type: "exponential", delay: BACKOFF_BASE_MS },
          removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
          removeOnFail: { age: 30 * 24 * 3600 },
        },
      });
      queues.set(name, q);
    }
    return q;
  };

  const workerConnection = () => {
    const connection = opts.redis.duplicate();
    workerConnections.push(connection);
    return connection;
  };

  return {
    kind: "bullmq",
    async enqueue(name, data, eo = {}) {
      await queue(JOB_QUEUE[name]).add(name, data, {
        ...(eo.jobId ? { jobId: eo.jobId } : {}),
        ...(eo.delayMs ? { delay: eo.delayMs } : {}),
        ...(eo.attempts ? { attempts: eo.attempts } : {}),
      });
    },
    async start() {
      for (const s of SCHEDULES) {
        await queue(JOB_QUEUE[s.job]).upsertJobScheduler(s.id, { every: s.everyMs, immediately: true }, { name: s.job, data: s.data });
      }
      if (!opts.work) return;
      for (const name of Object.values(QUEUES)) {
        const worker = new Worker(
          name,
          async (job) => {
            const processor = opts.processors[job.name as JobName] as Processors[JobName] | undefined;
            if (!processor) throw new Error(`no processor for job ${job.name}`);
            return processor(job.data, {
              attempt: job.attemptsMade + 1,
              progress: (p) => job.updateProgress(p),
              log: opts.log,
            });
          },
          { connection: workerConnection(), prefix, concurrency: opts.concurrency ?? 4 },
        );
        worker.on("failed", (job, err) => opts.log(`job ${job?.name} ${job?.id} failed: ${err.message}`));
        workers.push(worker);
      }
    },
    async close() {
      // Workers first: they finish their current jobs (graceful), then the queues.
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await Promise.all(workerConnections.map((c) => c.quit().catch(() => undefined)));
    },
    async ping() {
      await opts.redis.ping();
    },
  };
}
