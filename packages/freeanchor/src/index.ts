export { createFreeAnchor, FreeAnchorDetector, FREEANCHOR_DEFAULTS, type FreeAnchorOptions, type FreeAnchorConfig } from './freeanchor.js';
export { anchorBags, boxProbability } from './bags.js';
export { freeAnchorLoss, type FreeAnchorLossInput, type FreeAnchorLossOptions } from './loss.js';
