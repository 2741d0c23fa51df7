// Process plumbing the command-line entry points share: run only when executed directly, stop on signals.
import { pathToFileURL } from "node:url";

/** Runs `main` when `moduleUrl` is the script node was started with; a rejection exits 1 with the stack. */
export function runIfEntry(moduleUrl: string, name: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/** On SIGTERM or SIGINT: announce, close, exit 0; exit 1 if closing takes longer than `graceMs`. */
export function closeOnSignals(
  close: () => Promise<void>,
  graceMs: number,
  announce: (signal: string) => void,
): void {
  const shutdown = (signal: string): void => {
    announce(signal);
    setTimeout(() => process.exit(1), graceMs).unref();
    void close().then(() => process.exit(0));
  };
  for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => shutdown(signal));
}
