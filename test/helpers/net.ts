export { freePort } from '../../tools/chaos/net.js';
