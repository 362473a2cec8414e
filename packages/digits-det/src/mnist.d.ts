// Types for the parts of the `mnist` package (v1.1, CommonJS, untyped) used here.
declare module 'mnist' {
  interface MnistDigit {
    /** The digit 0..9. */
    id: number;
    /** Number of 28x28 samples of this digit. */
    length: number;
    /** Sample `index` as 784 floats in [0, 1], row-major (out-of-range indices pick a random one). */
    get(index: number): number[];
  }
  const mnist: MnistDigit[];
  export default mnist;
}
