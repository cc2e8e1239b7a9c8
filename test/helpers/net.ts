export { freePort } from '../../src/chaos/net.js';
