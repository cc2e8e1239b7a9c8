/**
 * The in-memory VersionStore (tools/doubles) against the seam's compliance
 * suite, the same one the disk-backed BlobStore passes
 * (test/integration/storage/version-store-compliance.test.ts).
 */
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { versionStoreCompliance } from '../../compliance/version-store.js';

versionStoreCompliance('MemoryVersionStore', async () => ({ store: new MemoryVersionStore(), close: async () => undefined }));
