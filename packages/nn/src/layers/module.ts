import * as tf from '@tensorflow/tfjs-core';

/** Any module, whatever its input and output types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any, any>;

const NAME_PATTERN = /^[A-Za-z0-9_]+$/;

/**
 * A torch-like module: named child modules, named parameters (trainable `tf.Variable`s) and named
 * buffers (non-trainable state such as BatchNorm running statistics).
 *
 * Names are dotted paths built from registration names (`layer1.0.conv1.weight`), in torch's
 * state_dict order: a module's own parameters, then its own buffers, then each child in
 * registration order. `forward` must be a pure function of the input and the variables so it can
 * run inside `tf.variableGrads` / `optimizer.minimize`; the only side effect allowed is updating
 * buffers (BatchNorm running stats in training mode).
 *
 * Ownership: a module owns its variables; `dispose()` releases them. Tensors returned by `forward`
 * belong to the caller.
 */
export abstract class Module<I = tf.Tensor, O = tf.Tensor> {
  /** Training mode (BatchNorm uses batch statistics and updates running ones). */
  training = true;
  private frozenFlag = false;
  private disposed = false;
  private readonly childMap = new Map<string, AnyModule>();
  private readonly paramMap = new Map<string, tf.Variable>();
  private readonly bufferMap = new Map<string, tf.Variable>();

  /** The computation. Must not dispose its input. */
  abstract forward(input: I): O;

  /** Same as `forward`, for readers used to Keras/tfjs-layers naming. */
  call(input: I): O {
    this.assertNotDisposed();
    return this.forward(input);
  }

  /** True once `freeze()` was called (and not undone): parameters are not trainable. */
  get frozen(): boolean {
    return this.frozenFlag;
  }

  protected registerModule<M extends AnyModule>(name: string, module: M): M {
    this.checkNewName(name);
    this.childMap.set(name, module);
    return module;
  }

  /** Takes ownership of `value` (it becomes the variable's storage; do not dispose it). */
  protected registerParameter(name: string, value: tf.Tensor): tf.Variable {
    this.checkNewName(name);
    const variable = tf.variable(value, !this.frozenFlag);
    value.dispose();
    this.paramMap.set(name, variable);
    return variable;
  }

  /** Takes ownership of `value`. Buffers are never trainable. */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    this.checkNewName(name);
    const variable = tf.variable(value, false);
    value.dispose();
    this.bufferMap.set(name, variable);
    return variable;
  }

  /**
   * Disposes and forgets a parameter or buffer registered by this module (a BatchNorm folded into
   * its conv keeps none); the state dict no longer lists it.
   */
  protected removeVariable(name: string): void {
    const variable = this.paramMap.get(name) ?? this.bufferMap.get(name);
    if (variable === undefined) throw new Error(`${this.constructor.name} has no parameter or buffer '${name}'`);
    variable.dispose();
    this.paramMap.delete(name);
    this.bufferMap.delete(name);
  }

  private checkNewName(name: string): void {
    if (!NAME_PATTERN.test(name)) {
      throw new Error(`${this.constructor.name}: invalid name '${name}' (letters, digits and _ only)`);
    }
    if (this.childMap.has(name) || this.paramMap.has(name) || this.bufferMap.has(name)) {
      throw new Error(`${this.constructor.name}: name '${name}' is already registered`);
    }
  }

  /** Direct children in registration order. */
  namedChildren(): Array<[string, AnyModule]> {
    return [...this.childMap.entries()];
  }

  /** Child by name (throws naming the child if absent). */
  child<M extends AnyModule = AnyModule>(name: string): M {
    const module = this.childMap.get(name);
    if (module === undefined) throw new Error(`${this.constructor.name} has no child module '${name}'`);
    return module as M;
  }

  /** This module and all descendants with dotted names ('' for this module). */
  namedModules(prefix = ''): Array<[string, AnyModule]> {
    const out: Array<[string, AnyModule]> = [[prefix, this]];
    for (const [name, child] of this.childMap) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Parameters (trainable or frozen), torch `named_parameters()` order and naming. */
  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, v] of this.paramMap) out.push([join(prefix, name), v]);
    for (const [name, child] of this.childMap) out.push(...child.namedParameters(join(prefix, name)));
    return out;
  }

  /** Buffers (running statistics), torch `named_buffers()` naming. */
  namedBuffers(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, v] of this.bufferMap) out.push([join(prefix, name), v]);
    for (const [name, child] of this.childMap) out.push(...child.namedBuffers(join(prefix, name)));
    return out;
  }

  /** Parameters and buffers: everything that is saved, torch `state_dict()` order. */
  stateDict(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, v] of this.paramMap) out.push([join(prefix, name), v]);
    for (const [name, v] of this.bufferMap) out.push([join(prefix, name), v]);
    for (const [name, child] of this.childMap) out.push(...child.stateDict(join(prefix, name)));
    return out;
  }

  /** Parameters an optimizer should update (those of modules not frozen). */
  trainableVariables(): tf.Variable[] {
    return this.namedParameters()
      .map(([, v]) => v)
      .filter((v) => v.trainable);
  }

  /** Number of scalar parameters (buffers excluded, as torch's `sum(p.numel())`). */
  numParameters(): number {
    let n = 0;
    for (const [, v] of this.namedParameters()) n += v.size;
    return n;
  }

  /**
   * Freezes this module and its descendants: parameters become non-trainable (so
   * `optimizer.minimize` without a var list skips them) and BatchNorm layers use running stats.
   */
  freeze(): this {
    this.setFrozen(true);
    return this;
  }

  unfreeze(): this {
    this.setFrozen(false);
    return this;
  }

  private setFrozen(frozen: boolean): void {
    this.frozenFlag = frozen;
    for (const v of this.paramMap.values()) v.trainable = !frozen;
    for (const child of this.childMap.values()) child.setFrozen(frozen);
  }

  /** Sets training mode on this module and its descendants. */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.childMap.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Releases every variable of the tree. The module is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.paramMap.values()) v.dispose();
    for (const v of this.bufferMap.values()) v.dispose();
    for (const child of this.childMap.values()) child.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  protected assertNotDisposed(): void {
    if (this.disposed) throw new Error(`${this.constructor.name} was disposed`);
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/** Children named '0', '1', ... applied in order (torch `nn.Sequential`). */
export class Sequential<T = tf.Tensor> extends Module<T, T> {
  private readonly layers: Array<Module<T, T>>;

  constructor(layers: Array<Module<T, T>>) {
    super();
    this.layers = layers;
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module<T, T> {
    const layer = this.layers[index];
    if (layer === undefined) throw new Error(`Sequential: no layer at index ${index} (length ${this.layers.length})`);
    return layer;
  }

  forward(input: T): T {
    let x = input;
    for (const layer of this.layers) x = layer.forward(x);
    return x;
  }
}

/**
 * Children named '0', '1', ...; `forward(inputs)` applies child i to inputs[i] (one module per
 * pyramid level, e.g. per-level `Scale`s or lateral convs).
 */
export class ModuleList<I = tf.Tensor, O = tf.Tensor> extends Module<I[], O[]> {
  private readonly items: Array<Module<I, O>>;

  constructor(items: Array<Module<I, O>>) {
    super();
    this.items = items;
    items.forEach((item, i) => this.registerModule(String(i), item));
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): Module<I, O> {
    const item = this.items[index];
    if (item === undefined) throw new Error(`ModuleList: no module at index ${index} (length ${this.items.length})`);
    return item;
  }

  forward(inputs: I[]): O[] {
    if (inputs.length !== this.items.length) {
      throw new Error(`ModuleList: got ${inputs.length} inputs for ${this.items.length} modules`);
    }
    return inputs.map((x, i) => this.at(i).forward(x));
  }
}
