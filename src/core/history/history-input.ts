/**
 * What `history add` reads from one results directory. The adapter that builds it through the
 * results format is src/experiment/history/results-history-input.ts; warm-ups are left out.
 */
export interface HistoryRunInput {
  /** Stable id of the results dir, e.g. plan hash + seed + shard + created-at. */
  sourceRun: string;
  /** ISO. */
  date: string;
  /** Host/qemu/accelerator/kernel hashes… */
  fingerprint: Record<string, string | number | boolean | null>;
  qemuVersion: string;
  accelerator: string;
  cells: {
    kernel: {
      label: string;
      commit?: string;
      patches?: { subject: string; sha256: string }[];
      configSha256?: string;
      sha256?: string;
      release?: string;
    };
    config: string;
    requestedBits: number[];
    negotiatedBits: number[] | null;
    workload: string;
    samples: { boot: string; iteration: number; metrics: Record<string, number | null> }[];
  }[];
}
