/**
 * Which validation is the best so far and when to stop waiting for a better one (`--patience`).
 * Improvement is strict: a validation that only ties the best AP does not count as one, so a run
 * whose AP stays flat stops after `patience` validations, and `best.hpf` keeps the earliest.
 */
export interface MeasuredAp {
  iteration: number;
  ap: number;
  ap50: number;
}

/** The validation with the highest AP (the earliest of equals); undefined when there is none. */
export function bestValidation<V extends MeasuredAp>(validations: readonly V[]): V | undefined {
  let best: V | undefined;
  for (const v of validations) if (best === undefined || v.ap > best.ap) best = v;
  return best;
}

/** Validations after the best one (0 when the last is the best). */
export function validationsSinceBest(validations: readonly MeasuredAp[]): number {
  const best = bestValidation(validations);
  return best === undefined ? 0 : validations.length - 1 - validations.indexOf(best);
}

/** The stop, or undefined to go on: `patience` validations in a row without a better AP. */
export function earlyStop(validations: readonly MeasuredAp[], patience: number): { iteration: number; patience: number; best: MeasuredAp; message: string } | undefined {
  const since = validationsSinceBest(validations);
  if (since < patience) return undefined;
  const best = bestValidation(validations)!;
  const iteration = validations.at(-1)!.iteration;
  return {
    iteration,
    patience,
    best,
    message: `early stop at iteration ${iteration}: val AP has not improved for ${since} validations, best ${(100 * best.ap).toFixed(2)} at iteration ${best.iteration}`,
  };
}
