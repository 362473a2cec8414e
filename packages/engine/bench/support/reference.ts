import type { ConvNetConfig } from '../../test/support/conv-net.js';

/** The reference net of the backend benchmark: stride-2 stem to 128 channels, 64-channel FPN. */
export const REFERENCE_NET: ConvNetConfig = { stemChannels: [32, 64, 128, 128, 128], fpnChannels: 64, numOutputs: 10, groups: 8, seed: 1 };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
