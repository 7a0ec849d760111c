/** Pure: what went wrong between requested, offered and negotiated bits, in words. */
export function featureFindings(
  requested: readonly number[],
  offered: readonly number[],
  negotiated: readonly number[],
  kernel: string,
): string[] {
  const findings: string[] = [];
  for (const bit of requested) {
    if (!offered.includes(bit)) {
      findings.push(`bit ${bit} requested, but the device did not offer it`);
    } else if (!negotiated.includes(bit)) {
      findings.push(`bit ${bit} requested and offered, but kernel ${kernel} did not negotiate it`);
    }
  }
  return findings;
}
