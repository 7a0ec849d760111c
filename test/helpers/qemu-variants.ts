import { testQemu } from "./device-init-builds.js";

/**
 * The QEMUs the QMP and boot tests run against: Debian 12's 7.2 (what the suite's other tests
 * use) and 10.0 (Debian 13's source with the device-init fixture patch, built and cached by
 * scripts/build-test-qemu.sh), since users of the series run QEMU 10.x and later.
 */
export interface QemuVariant {
  readonly label: string;
  /** The version --version must print. */
  readonly version: RegExp;
  readonly path: () => Promise<string>;
}

export const QEMU_VARIANTS: readonly QemuVariant[] = [
  {
    label: "QEMU 7.2",
    version: /version 7\.2\./,
    path: () => Promise.resolve("qemu-system-x86_64"),
  },
  { label: "QEMU 10.0", version: /version 10\.0\./, path: testQemu },
];

/** Hook timeout for resolving a variant: the first fixture QEMU build takes minutes. */
export const QEMU_BUILD_TIMEOUT_MS = 3_600_000;
