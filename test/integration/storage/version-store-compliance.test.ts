/**
 * The disk-backed BlobStore, on a real data dir, against the VersionStore
 * compliance suite that the simulator's MemoryVersionStore also passes
 * (test/unit/gossip/memory-version-store.test.ts).
 */
import { BlobStore } from '../../../src/storage/blob-store.js';
import { HybridLogicalClock } from '../../../src/consensus/hlc.js';
import { silentLogger } from '../../../src/log.js';
import { removeDir, tempDir } from '../../helpers/node.js';
import { versionStoreCompliance } from '../../compliance/version-store.js';

versionStoreCompliance('BlobStore (disk)', async () => {
  const dir = await tempDir('gcdn-compliance-');
  const store = await BlobStore.open(
    { dataDir: dir, maxBlobBytes: 1024 * 1024, quotaBytes: 16 * 1024 * 1024, tombstoneGraceMs: 60_000 },
    { nodeId: 'n0123456789abcdef', clock: new HybridLogicalClock(() => Date.now()), logger: silentLogger() },
  );
  return {
    store,
    close: async () => {
      await store.close();
      await removeDir(dir);
    },
  };
});
