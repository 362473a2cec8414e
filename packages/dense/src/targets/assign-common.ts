// Shared types and input checks of the CPU assigners (no gradient flows through an assignment).

/** gtIndex value of a prior assigned to background (a negative). */
export const ASSIGN_BACKGROUND = -1;
/** gtIndex value of a prior that is neither positive nor negative (ignored by the losses). */
export const ASSIGN_IGNORE = -2;

export interface AssignInput {
  /** Priors as N boxes (x1, y1, x2, y2), flat N * 4, all levels concatenated in level order. */
  priors: Float32Array;
  /** Ground-truth boxes, flat G * 4. */
  gtBoxes: Float32Array;
  /** Ground-truth classes in [0, numClasses), length G. */
  gtLabels: ArrayLike<number>;
  /** Optional per-prior valid flags (1 valid, 0 padding); invalid priors are ignored (gtIndex -2). */
  validFlags?: Uint8Array;
}

export interface Assignment {
  /** Per prior: assigned gt index >= 0, -1 background, -2 ignore. */
  gtIndex: Int32Array;
  /** Per prior: class in [0, C) for positives, C (numClasses) for background, -1 for ignored (project convention). */
  labels: Int32Array;
  /** Per prior: IoU with its assigned gt for positives, else the prior's best IoU over all gts (0 without gts). */
  maxIoU: Float32Array;
  /** Number of positives. */
  numPositive: number;
}

export interface CheckedInput {
  numPriors: number;
  numGts: number;
  valid: (i: number) => boolean;
}

export function checkAssignInput(where: string, input: AssignInput, numClasses: number): CheckedInput {
  const { priors, gtBoxes, gtLabels, validFlags } = input;
  if (!(priors instanceof Float32Array) || priors.length % 4 !== 0) {
    throw new Error(`${where}: priors must be a Float32Array of length N * 4, got length ${priors?.length}`);
  }
  if (!(gtBoxes instanceof Float32Array) || gtBoxes.length % 4 !== 0) {
    throw new Error(`${where}: gtBoxes must be a Float32Array of length G * 4, got length ${gtBoxes?.length}`);
  }
  const numPriors = priors.length / 4;
  const numGts = gtBoxes.length / 4;
  if (gtLabels.length !== numGts) throw new Error(`${where}: gtLabels has ${gtLabels.length} entries for ${numGts} gt boxes`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${where}: option 'numClasses' must be an integer >= 1, got ${numClasses}`);
  for (let g = 0; g < numGts; g++) {
    const label = gtLabels[g]!;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new Error(`${where}: gtLabels[${g}] = ${label} is not a class in [0, ${numClasses})`);
    }
  }
  if (validFlags !== undefined && validFlags.length !== numPriors) {
    throw new Error(`${where}: validFlags has ${validFlags.length} entries for ${numPriors} priors`);
  }
  return { numPriors, numGts, valid: validFlags ? (i) => validFlags[i] !== 0 : () => true };
}

/** Labels from gt indices: positives take their gt's class, background C, ignored -1. */
export function finishAssignment(gtIndex: Int32Array, maxIoU: Float32Array, gtLabels: ArrayLike<number>, numClasses: number): Assignment {
  const labels = new Int32Array(gtIndex.length);
  let numPositive = 0;
  for (let i = 0; i < gtIndex.length; i++) {
    const g = gtIndex[i]!;
    if (g >= 0) {
      labels[i] = gtLabels[g]!;
      numPositive++;
    } else {
      labels[i] = g === ASSIGN_BACKGROUND ? numClasses : -1;
    }
  }
  return { gtIndex, labels, maxIoU, numPositive };
}
