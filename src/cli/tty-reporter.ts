import cliProgress from "cli-progress";
import { describeIteration, type RunReporter } from "../experiment/run-reporter.js";

/** A terminal: one progress bar with the current cell and ETA; log lines print above it. */
export function ttyReporter(stream: NodeJS.WriteStream): RunReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{bar} {value}/{total} iterations | ETA {eta_formatted} | {cell}",
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  // An interrupt exits without stop(): give the terminal its cursor back anyway.
  const restore = (): void => multi.stop();
  process.once("exit", restore);
  return {
    log: (line) => multi.log(`${line}\n`),
    start: (n) => (bar = multi.create(n, 0, { cell: "booting" })),
    cell: (cell) => bar?.update({ cell }),
    iteration: (event) => {
      multi.log(`${describeIteration(event)}\n`);
      bar?.increment(1, { cell: event.cell });
    },
    stop: () => {
      process.removeListener("exit", restore);
      multi.stop();
    },
  };
}
