/** Throws on option keys outside `allowed`, naming the function and the key. */
export function rejectUnknownOptions(where: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown option '${key}'`);
  }
}

export function checkNumber(where: string, name: string, value: number, min: number, minInclusive = true): void {
  const ok = Number.isFinite(value) && (minInclusive ? value >= min : value > min);
  if (!ok) throw new Error(`${where}: option '${name}' must be a finite number ${minInclusive ? '>=' : '>'} ${min}, got ${value}`);
}
