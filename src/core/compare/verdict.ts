import { bootsForHalfWidth } from "../stats/boot-level.js";
import { formatP } from "./format.js";

export type Direction = "lower" | "higher";
export type Verdict =
  "improvement" | "regression" | "no change" | "inconclusive" | "insufficient data";

/**
 * A verdict needs at least this many boots per side: Mann-Whitney on fewer cannot reach p < 0.05
 * (with 3 per side its smallest p is 0.1), and a t test on fewer has next to no degrees of freedom.
 */
export const MIN_BOOTS = 4;
/** The smallest change called a regression or an improvement, unless --min-effect says otherwise. */
export const DEFAULT_MIN_EFFECT_PCT = 2;
/** Boot counts beyond this are not worth suggesting. */
const BOOTS_SUGGESTION_MAX = 1000;

export interface VerdictInput {
  readonly direction: Direction;
  /** 100 (b/a - 1), or null when there is no ratio (a mean <= 0). */
  readonly deltaPct: number | null;
  /** The 95 % CI of deltaPct (percent), or of the difference when deltaPct is null. */
  readonly ci95: readonly [number, number];
  readonly pAdjusted: number;
  /** Mann-Whitney U on the boot means (unadjusted): a verdict needs it to agree, in direction too. */
  readonly pMannWhitney: number;
  readonly mannWhitneyAgrees: boolean;
  readonly exact: boolean;
  /** Boots on the side with fewer. */
  readonly boots: number;
}

export interface VerdictResult {
  readonly verdict: Verdict;
  /** Why, in words: the rule that decided. */
  readonly reason: string;
  /** For an inconclusive verdict: boots per side the same noise would need to decide. */
  readonly bootsNeeded: number | null;
}

const fmt = (p: number): string => formatP(p);

/**
 * Pure: the verdict of one comparison. Regression or improvement only when significant after
 * Holm's correction and at least the minimum effect; "no change" when the whole CI lies within
 * ± the minimum effect; otherwise inconclusive, with the boots that would decide it (as
 * Chromium Pinpoint's DIFFERENT / SAME / UNKNOWN).
 */
export function decideVerdict(
  input: VerdictInput,
  minEffectPct: number,
  alpha: number,
): VerdictResult {
  // Both tests must find the difference: Welch (after Holm) and Mann-Whitney, which an outlying
  // boot cannot sway. Either alone would flag an A/A pair about alpha of the time; together, less.
  const significant =
    input.pAdjusted < alpha &&
    (input.exact || (input.pMannWhitney < alpha && input.mannWhitneyAgrees));
  const { deltaPct, ci95 } = input;
  const worse = (d: number): boolean => (input.direction === "lower" ? d > 0 : d < 0);
  if (deltaPct === null) {
    // No ratio (a mean of 0): significance alone decides, and no relative effect is claimed.
    const d = (ci95[0] + ci95[1]) / 2;
    if (input.exact && d === 0)
      return { verdict: "no change", reason: "identical on every boot", bootsNeeded: null };
    if (significant)
      return {
        verdict: worse(d) ? "regression" : "improvement",
        reason: `significant (p Holm ${fmt(input.pAdjusted)}); a mean of 0 or below, so no relative change`,
        bootsNeeded: null,
      };
    return {
      verdict: "inconclusive",
      reason: "not significant, and with a mean of 0 or below no relative change can be ruled out",
      bootsNeeded: null,
    };
  }
  const beyond = Math.abs(deltaPct) >= minEffectPct;
  if (significant && beyond) {
    return {
      verdict: worse(deltaPct) ? "regression" : "improvement",
      reason: `significant (p Holm ${fmt(input.pAdjusted)}, Mann-Whitney ${fmt(input.pMannWhitney)}) and beyond the ${minEffectPct} % minimum effect`,
      bootsNeeded: null,
    };
  }
  if (ci95[0] > -minEffectPct && ci95[1] < minEffectPct) {
    return {
      verdict: "no change",
      reason: `the 95 % CI lies within ±${minEffectPct} %`,
      bootsNeeded: null,
    };
  }
  const half = (ci95[1] - ci95[0]) / 2;
  const target = beyond ? Math.abs(deltaPct) : minEffectPct - Math.abs(deltaPct);
  const needed = bootsForHalfWidth(input.boots, half, target);
  return {
    verdict: "inconclusive",
    reason: beyond
      ? `beyond the ${minEffectPct} % minimum effect but not significant by both tests (p Holm ${fmt(input.pAdjusted)}, Mann-Whitney ${fmt(input.pMannWhitney)})`
      : `within the ${minEffectPct} % minimum effect, but the CI reaches beyond it`,
    bootsNeeded: needed > BOOTS_SUGGESTION_MAX ? null : Math.max(needed, input.boots + 1),
  };
}

/** "2 boots per side; a verdict needs at least 3" */
export function insufficientReason(baselineBoots: number, candidateBoots: number): string {
  const boots =
    baselineBoots === candidateBoots
      ? `${baselineBoots} boot${baselineBoots === 1 ? "" : "s"} per side`
      : `${baselineBoots} baseline and ${candidateBoots} candidate boots`;
  return `${boots}; a verdict needs at least ${MIN_BOOTS}`;
}
