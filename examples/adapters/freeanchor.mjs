// Train freeanchor (+ HPF) on digits-det quick, evaluate, print AP: node examples/adapters/freeanchor.mjs [--steps 300] [--no-hpf]
import { trainAdapter } from './train-adapter.mjs';

await trainAdapter('freeanchor');
