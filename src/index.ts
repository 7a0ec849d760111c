// The library surface: the pure core and the QMP client.
export * from "./core/errors.js";
export * from "./core/balloon/feature-bits.js";
export * from "./core/balloon/property-map.js";
export * from "./core/balloon/balloon-device.js";
export * from "./core/balloon/device-features.js";
export * from "./core/qemu/qemu-argv.js";
export * from "./core/qemu/accelerator.js";
export * from "./machine/qmp/qmp-client.js";
export * from "./machine/qmp/qmp-errors.js";
export * from "./machine/qmp/qmp-messages.js";
export * from "./core/probe/probe-report.js";
export * from "./core/perf/perf-csv.js";
export * from "./core/results-format/manifest.js";
export * from "./core/results-format/sample.js";
export { parseManifest } from "./core/results-format/upgrade.js";
