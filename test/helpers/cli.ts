import { spawn, type ChildProcess } from "node:child_process";
import { PROJECT_ROOT } from "../../src/platform/paths.js";

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` from the project root with exactly `env` to completion, collecting its output; killed after
 * `timeoutMs`. `onSpawn` lets a caller track the child (e.g. to kill it when a benchmark is interrupted).
 */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onSpawn?: (child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    onSpawn?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `node --import tsx src/cli.ts <args>` with a clean environment (only what `env` gives): as an operator runs it. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<Run> {
  return runNode(["--import", "tsx", "src/cli.ts", ...args], { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? PROJECT_ROOT, LOG_LEVEL: "silent", ...env }, timeoutMs);
}
