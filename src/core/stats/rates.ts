import { betaQuantile } from "./distributions.js";

/** A measured rate with its exact 95 % Clopper-Pearson interval. */
export interface Rate {
  readonly hits: number;
  readonly trials: number;
  readonly rate: number;
  readonly ci95: readonly [number, number];
}

export function clopperPearson(hits: number, trials: number): Rate {
  const lo = hits === 0 ? 0 : betaQuantile(0.025, hits, trials - hits + 1);
  const hi = hits === trials ? 1 : betaQuantile(0.975, hits + 1, trials - hits);
  return { hits, trials, rate: trials === 0 ? 0 : hits / trials, ci95: [lo, hi] };
}

/** "4.2 [2.5, 6.7]" in percent. */
export function formatRate(rate: Rate): string {
  if (rate.trials === 0) return "n/a (nothing measured)";
  const pct = (x: number): string => (100 * x).toFixed(1);
  return `${pct(rate.rate)} [${pct(rate.ci95[0])}, ${pct(rate.ci95[1])}]`;
}
