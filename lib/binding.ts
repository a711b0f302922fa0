/**
 * The native addon, loaded only through node-gyp-build (prebuilds/<platform>-<arch>/ first, then
 * build/Release/ for a from-source build), with LitevaultError handed to it so every native
 * rejection arrives typed. Internal: the public surface is in index.ts.
 */
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { LitevaultError, LitevaultErrorFields } from './errors';
import type { DatabaseInfo } from './inspect';

/** The functions native/src/addon/ registers. */
interface NativeBinding {
  setErrorClass(ctor: new (fields: LitevaultErrorFields) => LitevaultError): void;
  inspect(path: string): Promise<DatabaseInfo>;
  napiVersion: number;
}

const packageRoot = path.join(__dirname, '..');
const binaryPath = nodeGypBuild.resolve(packageRoot);

/** @internal */
export const binding = nodeGypBuild(packageRoot) as NativeBinding;
binding.setErrorClass(LitevaultError);

/** Where the loaded native binary came from. */
export interface NativeAddonInfo {
  /** Absolute path of the .node file that was loaded. */
  path: string;
  /** 'prebuilds' for a shipped prebuilt binary, 'build' for one compiled from source. */
  from: 'prebuilds' | 'build';
  /** The Node-API version the binary was built for. */
  napiVersion: number;
}

/** Which native binary this process loaded (prebuilt or compiled from source). */
export const nativeAddon: NativeAddonInfo = Object.freeze({
  path: binaryPath,
  from: path.relative(packageRoot, binaryPath).split(path.sep)[0] === 'prebuilds' ? 'prebuilds' : 'build',
  napiVersion: binding.napiVersion,
});
