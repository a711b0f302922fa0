// ES module entry: the same objects as the CommonJS build (one addon instance per process).
import { createRequire } from 'node:module';

const litevault = createRequire(import.meta.url)('./index.js');

export const { LitevaultError, inspect, nativeAddon, Database, Backup, backup, Checkpoint, checkpoint, verify, BackupStream, backupStream, restoreStream, Vault, readVaultKeyFile } = litevault;
export default litevault;
