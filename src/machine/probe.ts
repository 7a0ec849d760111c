import {
  BALLOON_DEVICE_ID,
  BALLOON_IOTHREAD_ID,
  BALLOON_VIRTIO_PATH,
} from "../core/balloon/balloon-device.js";
import { decodeVirtioStatus } from "../core/balloon/device-features.js";
import { VmLaunchError } from "../core/errors.js";
import { launchVm } from "./qemu/qemu-vm.js";
import { readDeviceProperties, readQemuBinaryInfo, resolveQemuBinary } from "./qemu/qemu-binary.js";
import { assembleProbeReport, type ProbeReport } from "../core/probe/probe-report.js";

export interface ProbeOptions {
  readonly qemu?: string | undefined;
  readonly propertyMap: ReadonlyMap<number, string>;
}

const FREE_PAGE_HINT_BIT = 3;

/**
 * Which balloon bits this QEMU can offer: the device's properties from `-device ...,help`, then a
 * paused VM (no guest, TCG, -S) with every mapped property on, read back with x-query-virtio-status.
 */
export async function probeQemu(options: ProbeOptions): Promise<ProbeReport> {
  const path = await resolveQemuBinary(options.qemu);
  const info = await readQemuBinaryInfo(path);
  const availableProperties = new Set(await readDeviceProperties(path, "virtio-balloon-pci"));
  const enabled = [...options.propertyMap]
    .filter(([, property]) => availableProperties.has(property))
    .sort(([a], [b]) => a - b);
  let offeredBits: Set<number> | undefined;
  let deviceError: string | undefined;
  try {
    await using vm = await launchVm({
      qemuPath: path,
      captureConsole: false,
      config: {
        machine: "q35",
        accelerator: "tcg",
        cpu: "max",
        memoryMiB: 128,
        vcpus: 1,
        drives: [],
        paused: true,
        balloon: {
          id: BALLOON_DEVICE_ID,
          properties: enabled.map(([, property]) => [property, "on"] as const),
          iothreadId: enabled.some(([bit]) => bit === FREE_PAGE_HINT_BIT)
            ? BALLOON_IOTHREAD_ID
            : undefined,
        },
      },
    });
    const status = await vm.qmp.execute("x-query-virtio-status", { path: BALLOON_VIRTIO_PATH });
    offeredBits = new Set(decodeVirtioStatus(status).offered.balloonBits);
  } catch (error) {
    if (!(error instanceof VmLaunchError)) throw error;
    deviceError = error.stderrTail.split("\n").find((l) => l.trim() !== "") ?? error.message;
  }
  return assembleProbeReport({
    qemu: { path, version: info.version },
    availableProperties,
    propertyMap: options.propertyMap,
    offeredBits,
    deviceError,
  });
}
