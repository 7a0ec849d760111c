/** How numbers are written in every report: nothing prints as NaN or Infinity. */

export function formatP(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return "n/a";
  if (p === 0) return "0 (exact)";
  if (p < 1e-4) return p.toExponential(1);
  return p.toPrecision(2);
}

export function formatPct(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "n/a";
  return `${value > 0 ? "+" : ""}${value.toFixed(1)}%`;
}

const SCALES = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "K"],
] as const;

/**
 * Human-scale number like the cover letter's table: 232, 1.20M, 288K. The scale is chosen after
 * rounding, so 999,999.9 is 1.00M, not "1.00e+3K".
 */
export function formatQuantity(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit !== "")
    return `${Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)} ${unit === "msec" ? "ms" : unit}`;
  for (const [scale, suffix] of SCALES) {
    const scaled = Number((value / scale).toPrecision(3));
    if (Math.abs(scaled) >= 1)
      return `${Math.abs(scaled) >= 1000 ? scaled.toFixed(0) : scaled.toPrecision(3)}${suffix}`;
  }
  return value.toFixed(0);
}
