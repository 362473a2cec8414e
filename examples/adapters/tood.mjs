// Train tood (+ HPF) on digits-det quick, evaluate, print AP: node examples/adapters/tood.mjs [--steps 300] [--no-hpf]
import { trainAdapter } from './train-adapter.mjs';

await trainAdapter('tood');
