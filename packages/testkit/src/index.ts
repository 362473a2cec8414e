export { overfitImages, runOverfit, useWasmTraining, OVERFIT_PRESET, type OverfitData, type OverfitOptions, type OverfitResult } from './overfit.js';
