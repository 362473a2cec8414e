export { createPaa, PaaDetector, PAA_DEFAULTS, type PaaOptions, type PaaConfig } from './paa.js';
export { paaCandidates, paaReassign, type PaaCandidateOptions, type PaaCandidates, type PaaReassignInput } from './assigner.js';
export { paaLoss, type PaaLossInput, type PaaLossOptions, type PaaBatchTargets } from './loss.js';
export { fitGmm1d, type Gmm1dInit, type Gmm1dOptions, type Gmm1dFit } from './gmm.js';
