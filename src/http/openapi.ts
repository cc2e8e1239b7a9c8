/**
 * The OpenAPI 3.1 document of a node's public HTTP API, served at
 * /openapi.json. A test checks that every documented path answers on a
 * running node and that every route the node serves is documented.
 */
const guidParam = { name: 'guid', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const writeResult = { 'application/json': { schema: { $ref: '#/components/schemas/WriteResult' } } };
const vectorClockHeader = { name: 'Vector-Clock', in: 'header', required: false, schema: { type: 'string' }, description: 'RFC 8941 dictionary of node id to counter: the causal context of an earlier read.' };
/** With --auth-public-key: who may write (and, with --private-reads, read), README "Access: tokens and presigned URLs". */
const unauthorized = error('with --auth-public-key: no client token, or a malformed one, or one not signed by the cluster\'s admin key (WWW-Authenticate: Bearer)');
const forbidden = error('the token does not allow this: wrong scope, bound to another blob, expired or revoked');
const tokenParam = { name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'a presigned URL\'s read token (gossip-cdn auth url): GET and HEAD of this blob only' };
const blobHeaders = {
  ETag: { schema: { type: 'string' }, description: 'strong, the quoted sha256 of the body' },
  'Vector-Clock': { schema: { type: 'string' } },
  'Last-Modified': { schema: { type: 'string' } },
  'Accept-Ranges': { schema: { type: 'string' } },
  'Cache-Control': { schema: { type: 'string' } },
  'Content-Length': { schema: { type: 'integer' } },
  'Content-Type': { schema: { type: 'string' } },
};

const RATE_LIMITED = {
  ...error('over the per-address rate limit (CDN_ERR_RATE_LIMITED, README "Rate limits"); nothing was read or stored'),
  headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 }, description: 'seconds until a request from this address is accepted again' } },
};

/** Every operation can answer 429: the per-address limit is checked before routing. */
function withRateLimit<T extends Record<string, Record<string, unknown>>>(paths: T): T {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(paths)) {
    out[path] = Object.fromEntries(Object.entries(item).map(([method, op]) => {
      const responses = (op as { responses?: Record<string, unknown> }).responses;
      return [method, responses === undefined ? op : { ...(op as object), responses: { ...responses, 429: RATE_LIMITED } }];
    }));
  }
  return out as T;
}

export const NODE_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'gossip-cdn node', version: '0.1.0',
    description: 'Public blob API, operator endpoints. Node-to-node /gossip endpoints are described in proposals/. With --auth-public-key, PUT, POST and DELETE need a client token (Authorization: Bearer) of scope write, write and delete (or admin); with --private-reads, GET and HEAD of /blobs need a read token or a presigned ?token=. Operator endpoints stay public.',
  },
  paths: withRateLimit({
    '/blobs/{guid}': {
      parameters: [guidParam],
      get: {
        summary: 'Read the winning version of a blob',
        parameters: [
          tokenParam,
          { name: 'Range', in: 'header', schema: { type: 'string' } },
          { name: 'If-None-Match', in: 'header', schema: { type: 'string' } },
          { name: 'If-Modified-Since', in: 'header', schema: { type: 'string' } },
          { name: 'If-Match', in: 'header', schema: { type: 'string' } },
          { name: 'If-Unmodified-Since', in: 'header', schema: { type: 'string' } },
          { name: 'If-Range', in: 'header', schema: { type: 'string' } },
        ],
        responses: {
          200: { description: 'the bytes', headers: blobHeaders },
          206: { description: 'one range, or multipart/byteranges for several', headers: blobHeaders },
          304: { description: 'not modified' },
          400: error('malformed GUID, header or range'),
          401: unauthorized,
          403: forbidden,
          404: error('never written, or deleted'),
          412: error('If-Match / If-Unmodified-Since failed'),
          416: error('no range overlaps the body'),
          503: error('the body is not held here (or failed its checksum)'),
        },
      },
      head: { summary: 'The headers of GET, no body', responses: { 200: { description: 'headers', headers: blobHeaders }, 404: error('not found') } },
      put: {
        summary: 'Store a new version (streamed raw body)',
        parameters: [
          vectorClockHeader,
          { name: 'If-Match', in: 'header', schema: { type: 'string' }, description: 'compare-and-set against the current ETag' },
          { name: 'If-None-Match', in: 'header', schema: { type: 'string', enum: ['*'] }, description: 'create only' },
          { name: 'Content-Type', in: 'header', schema: { type: 'string' } },
          { name: 'Cache-Control', in: 'header', schema: { type: 'string' } },
          { name: 'Content-Digest', in: 'header', schema: { type: 'string' }, description: 'sha-256=:<base64>: checked against the body' },
          { name: 'X-Content-SHA256', in: 'header', schema: { type: 'string' }, description: 'hex sha256 checked against the body' },
        ],
        requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          200: { description: 'replaced', content: writeResult },
          201: { description: 'created', content: writeResult },
          400: error('malformed GUID, header, vector clock or digest; client aborted'),
          401: unauthorized,
          403: forbidden,
          408: error('upload stalled below the minimum rate'),
          409: error('a concurrent write won the race of a conditional PUT'),
          412: error('precondition failed'),
          413: error('over the maximum blob size'),
          507: error('disk quota full'),
        },
      },
      delete: {
        summary: 'Write a tombstone',
        parameters: [vectorClockHeader, { name: 'If-Match', in: 'header', schema: { type: 'string' } }],
        responses: { 204: { description: 'deleted (or already deleted)' }, 401: unauthorized, 403: forbidden, 404: error('never written'), 412: error('precondition failed') },
      },
    },
    '/blobs': {
      post: {
        summary: 'Store a blob under a GUID the node picks',
        requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
        responses: { 201: { description: 'created; Location names the blob', content: writeResult }, 401: unauthorized, 403: forbidden, 413: error('too large'), 507: error('quota full') },
      },
      get: {
        summary: 'A page of live keys',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          { name: 'cursor', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: 'keys in GUID order',
            content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, etag: { type: 'string' }, size: { type: 'integer' }, contentType: { type: 'string' } } } }, nextCursor: { type: ['string', 'null'] } } } } },
          },
          400: error('bad limit or cursor'),
        },
      },
    },
    '/blobs/{guid}/versions': {
      parameters: [guidParam],
      get: { summary: 'The winner and its concurrent siblings', responses: { 200: { description: 'the winner and siblings (each with bodyHeld), and owners: the node ids placement assigns the body to' }, 400: error('malformed GUID'), 404: error('unknown key') } },
    },
    '/auth/revocations': {
      post: {
        summary: 'Revoke a client token: a revocation signed by the admin key (gossip-cdn auth revoke), kept durably and spread by gossip',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['revocation'], additionalProperties: false, properties: { revocation: { type: 'string', description: 'compact JWS (EdDSA, typ cdn-revocation+jwt) with claims revokes (the token id), iat, exp (the token\'s)' } } } } } },
        responses: {
          200: { description: 'already held here' },
          202: { description: 'new here: stored, and spreading to every node' },
          400: error('the body is not {"revocation": JWS} (at most 8 KiB)'),
          401: error('not signed by this cluster\'s admin key, not a revocation, or past its exp'),
          403: error('this node has no --auth-public-key: it takes no revocations'),
          507: error('the node holds 100000 live revocations'),
        },
      },
    },
    '/cluster': {
      get: {
        summary: "This node's view of the cluster",
        parameters: [{ name: 'nodes', in: 'query', required: false, schema: { type: 'string', enum: ['1'] }, description: 'also ask every live peer (up to 32, 800 ms each) for its own blob and byte counts' }],
        responses: { 200: { description: 'id, peers with state, last contact and clock offset (seconds), the clock verdict (limit, peers beyond it, median offset, whether this node disagrees with most peers), blob counts, and placement: replicas, zone, write copies, members, owned and cached bodies and bytes, hand-off backlog; and the Point: the one registered with or tried now (url), state, last error, every Point known, moves away from a Point that stopped answering (failovers); and the active view (activeView: maxPeers, the active peers\' ids, peers with a keep-alive pool, open connections kept and one-off)' } },
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'alive' } } } },
    '/readyz': { get: { summary: 'Readiness: storage open, joined or deliberately alone, accepted by its peers, its clock within --max-clock-skew of most of theirs', responses: { 200: { description: 'ready' }, 503: error('not ready, with the reason (e.g. this node\'s clock is 301 s ahead of 4 of its 4 peers)') } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/': { get: { summary: 'Status page (HTML)', responses: { 200: { description: 'HTML' } } } },
  }),
  components: {
    schemas: {
      Error: {
        type: 'object', required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
      WriteResult: {
        type: 'object', required: ['id', 'etag', 'size', 'sha256', 'vectorClock'],
        properties: {
          id: { type: 'string', format: 'uuid' }, etag: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' },
          contentType: { type: 'string' }, vectorClock: { type: 'object', additionalProperties: { type: 'integer' } }, siblings: { type: 'integer' },
        },
      },
    },
  },
} as const;
