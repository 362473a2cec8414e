// Train vfnet (+ HPF) on digits-det quick, evaluate, print AP: node examples/adapters/vfnet.mjs [--steps 300] [--no-hpf]
import { trainAdapter } from './train-adapter.mjs';

await trainAdapter('vfnet');
