// node-gyp-build ships no types; this is the part of its API litevault uses.
declare module 'node-gyp-build' {
  /** Loads the best binary for this platform from dir's prebuilds/ or build/. */
  function load(dir: string): unknown;
  namespace load {
    /** The path load(dir) would require. */
    function resolve(dir: string): string;
  }
  export = load;
}
