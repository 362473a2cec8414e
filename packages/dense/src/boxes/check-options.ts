// Shared option validation: every public factory rejects unknown keys so a typo
// (`iouThreshhold`) fails loudly instead of silently using a default.

export function checkKnownOptions(where: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new Error(`${where}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new Error(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

export function checkPositive(where: string, name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${where}: option '${name}' must be a finite number > 0, got ${value}`);
  }
}

export function checkFinite(where: string, name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new Error(`${where}: option '${name}' must be a finite number, got ${value}`);
  }
}

/** A feature-map or image size `[height, width]` with positive integer entries. */
export type SizeHW = readonly [number, number];

export function checkSize(where: string, name: string, size: SizeHW, allowZero = false): void {
  const ok =
    Array.isArray(size) &&
    size.length === 2 &&
    size.every((v) => Number.isInteger(v) && (allowZero ? v >= 0 : v > 0));
  if (!ok) {
    throw new Error(`${where}: ${name} must be [height, width] of ${allowZero ? 'non-negative' : 'positive'} integers, got ${JSON.stringify(size)}`);
  }
}
