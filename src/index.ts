// The library surface: the pure core and the QMP client.
export * from "./errors.js";
export * from "./balloon/feature-bits.js";
export * from "./balloon/property-map.js";
export * from "./balloon/balloon-device.js";
export * from "./balloon/device-features.js";
export * from "./qemu/qemu-argv.js";
export * from "./qemu/accelerator.js";
export * from "./qmp/qmp-client.js";
export * from "./qmp/qmp-errors.js";
export * from "./qmp/qmp-messages.js";
export * from "./probe/probe-report.js";
export * from "./perf/perf-csv.js";
