/**
 * The OpenAPI 3.1 document of the Point, generated from the same zod schemas
 * the server validates with (OpenAPI 3.1 schemas are JSON Schema 2020-12,
 * which z.toJSONSchema emits), so it cannot drift from the code.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import {
  BanBody, BanResponse, ChallengeBody, ChallengeResponse, CheckQuery, CheckResponse, ErrorResponse, HealthResponse, HeartbeatResponse, KeyBody,
  LookQuery, LookResponse, PointsQuery, PointsResponse, RegBody, RegResponse, RemoveBody, RemoveResponse,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

const input = (schema: z.ZodType): JsonSchema => strip(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
const output = (schema: z.ZodType): JsonSchema => strip(z.toJSONSchema(schema, { unrepresentable: 'any' }));

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

function queryParameters(schema: z.ZodObject): JsonSchema[] {
  const whole = input(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(whole.properties ?? {}).map(([name, property]) => ({
    name, in: 'query', required: (whole.required ?? []).includes(name), schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

function errors(codes: ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_CODES[code].status, [...(byStatus.get(ERROR_CODES[code].status) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, list]) => [String(status), {
    description: list.map((c) => `${c}: ${ERROR_CODES[c].description}`).join(' | '),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  }]));
}

function ok(description: string, schema: z.ZodType, status = '200'): Record<string, JsonSchema> {
  return { [status]: { description, content: { 'application/json': { schema: output(schema) } } } };
}

const body = (schema: z.ZodType): JsonSchema => ({ required: true, content: { 'application/json': { schema: input(schema) } } });

const AUTH: ErrorCode[] = ['POINT_ERR_BAD_REQUEST', 'POINT_ERR_UNAUTHORIZED', 'POINT_ERR_REDIS_UNAVAILABLE'];

export function openApiDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'gossip-cdn Point',
      version: '1',
      description: 'The bootstrap service (SPEC §3.3). Every call but /reg and /reg/challenge needs the session key from /reg; /reg proves possession of the node\'s private key by signing a challenge from /reg/challenge. /reg, /reg/challenge, /ban and /remove are rate-limited per address (429 with Retry-After). Errors are {"error": {"code", "message"}}.',
    },
    paths: {
      '/reg/challenge': { post: {
        summary: 'A single-use challenge for publicKey, to sign and send with /reg (kept in the registry, so any Point sharing it accepts it)',
        requestBody: body(ChallengeBody),
        responses: { ...ok('Issued; usable once within ttl seconds', ChallengeResponse, '201'), ...errors(['POINT_ERR_BAD_REQUEST', 'POINT_ERR_BAD_PUBLIC_KEY', 'POINT_ERR_BODY_TOO_LARGE', 'POINT_ERR_RATE_LIMITED', 'POINT_ERR_REDIS_UNAVAILABLE']) },
      } },
      '/reg': { post: {
        summary: 'Register the caller (address from the connection, port from the body), proving it holds the private key of publicKey',
        requestBody: body(RegBody),
        responses: { ...ok('Registered; key is the secret session key', RegResponse, '201'), ...errors(['POINT_ERR_BAD_REQUEST', 'POINT_ERR_BAD_PUBLIC_KEY', 'POINT_ERR_ID_MISMATCH', 'POINT_ERR_BODY_TOO_LARGE', 'POINT_ERR_BAD_JOIN_TOKEN', 'POINT_ERR_PROOF_REQUIRED', 'POINT_ERR_BAD_PROOF', 'POINT_ERR_BANNED', 'POINT_ERR_ID_TAKEN', 'POINT_ERR_RATE_LIMITED', 'POINT_ERR_REDIS_UNAVAILABLE', 'POINT_ERR_POSTGRES_UNAVAILABLE']) },
      } },
      '/heartbeat': { post: {
        summary: 'Refresh the caller\'s TTL', requestBody: body(KeyBody),
        responses: { ...ok('Refreshed', HeartbeatResponse), ...errors([...AUTH, 'POINT_ERR_BANNED']) },
      } },
      '/look': { get: {
        summary: 'A random sample of up to numnodes live nodes other than the caller', parameters: queryParameters(LookQuery),
        responses: { ...ok('Live nodes; never anyone\'s session key', LookResponse), ...errors(AUTH) },
      } },
      '/check': { get: {
        summary: 'Is target registered, live and not banned; its record if so', parameters: queryParameters(CheckQuery),
        responses: { ...ok('The target\'s record', CheckResponse), ...errors([...AUTH, 'POINT_ERR_NOT_FOUND']) },
      } },
      '/ban': { post: {
        summary: 'Report an address; it is banned once a quorum of distinct reporters agrees', requestBody: body(BanBody),
        responses: { ...ok('The report was recorded', BanResponse), ...errors([...AUTH, 'POINT_ERR_RATE_LIMITED', 'POINT_ERR_POSTGRES_UNAVAILABLE']) },
      } },
      '/remove': { post: {
        summary: 'Report that a node is unreachable; it is dropped once a quorum agrees. A node naming itself leaves at once (graceful shutdown)', requestBody: body(RemoveBody),
        responses: { ...ok('The report was recorded', RemoveResponse), ...errors([...AUTH, 'POINT_ERR_NOT_FOUND', 'POINT_ERR_RATE_LIMITED']) },
      } },
      '/points': { get: {
        summary: 'Other Points serving this cluster', parameters: queryParameters(PointsQuery),
        responses: { ...ok('Up to count Point URLs', PointsResponse), ...errors(AUTH) },
      } },
      '/healthz': { get: { summary: 'Liveness, with the state of each backend', responses: ok('Serving', HealthResponse) } },
      '/readyz': { get: { summary: 'Readiness: 503 while a backend is down', responses: { ...ok('Both backends up', HealthResponse), '503': { description: 'A backend is down', content: { 'application/json': { schema: output(HealthResponse) } } } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
    components: { schemas: { Error: output(ErrorResponse) } },
  };
}
