/**
 * The chaos workload: a few concurrent clients writing, overwriting,
 * deleting and reading a bounded set of keys on the nodes' own ports (not
 * through the fault proxy), recording every operation. Every call has a
 * timeout; a call without an answer is recorded as `unknown`.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { SeededRandom } from '../sim/seeded-random.js';
import { formatVectorClockHeader, parseVectorClockHeader } from '../../src/consensus/vector-clock.js';
import { checkBody, makeBody, sha256Hex } from './body.js';
import type { OpKind, OpRecord } from './history.js';

export interface WorkloadOptions {
  clients: number;
  keys: number;
  seed: number;
  /** node base URLs (their own ports) */
  nodeUrls: string[];
  /** whether node i is up (not killed, restarting or paused): clients mostly pick those */
  isUp: (node: number) => boolean;
  /** ms since the run began */
  clock: () => number;
  /** bound on one operation, headers and body each */
  opTimeoutMs: number;
  /** pause between one client's operations */
  thinkMs: number;
  /** largest payload written */
  maxPayloadBytes: number;
}

export const WORKLOAD_DEFAULTS = { clients: 4, keys: 50, opTimeoutMs: 8_000, thinkMs: 25, maxPayloadBytes: 300 * 1024 } as const;

/** A GUID drawn from the seed (RFC 4122 version 4 layout). */
function seededGuid(random: SeededRandom): string {
  const hex = Array.from({ length: 32 }, () => random.int(16).toString(16));
  hex[12] = '4';
  hex[16] = (8 + random.int(4)).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Workload {
  readonly keys: string[];
  readonly history: OpRecord[] = [];
  private seq = 0;
  private stopped = false;
  private readonly agent: Agent;
  private loops: Promise<void>[] = [];
  /** the Vector-Clock of the last read of each key, used as the context of some writes */
  private readonly lastContext = new Map<string, string>();

  constructor(private readonly options: WorkloadOptions) {
    const random = new SeededRandom(options.seed);
    this.keys = Array.from({ length: options.keys }, () => seededGuid(random));
    this.agent = new Agent({ connections: 4, connect: { timeout: 3000 }, headersTimeout: options.opTimeoutMs, bodyTimeout: options.opTimeoutMs, keepAliveTimeout: 2000 });
  }

  start(): void {
    const root = new SeededRandom(this.options.seed ^ 0x5eed);
    for (let c = 0; c < this.options.clients; c++) this.loops.push(this.client(c, root.fork()));
  }

  /** Stops issuing operations and waits for those in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.agent.close();
  }

  private async client(id: number, random: SeededRandom): Promise<void> {
    let n = 0;
    while (!this.stopped) {
      const key = this.keys[random.int(this.keys.length)] as string;
      const up = this.options.nodeUrls.map((_, i) => i).filter((i) => this.options.isUp(i));
      const all = this.options.nodeUrls.map((_, i) => i);
      // Mostly nodes that are up; sometimes any node, so a write can land on one being killed or paused.
      const pool = up.length > 0 && random.next() < 0.9 ? up : all;
      const node = pool[random.int(pool.length)] as number;
      const roll = random.next();
      const kind: OpKind = roll < 0.45 ? 'put' : roll < 0.55 ? 'delete' : 'get';
      const withContext = random.next() < 0.3;
      try {
        if (kind === 'put') await this.put(id, node, key, `w${id}-${n++}`, this.payloadSize(random), withContext);
        else if (kind === 'delete') await this.del(id, node, key, withContext);
        else await this.get(id, node, key);
      } catch {
        // recorded by the operation itself
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.thinkMs * (0.5 + random.next())));
    }
  }

  private payloadSize(random: SeededRandom): number {
    const r = random.next();
    const max = this.options.maxPayloadBytes;
    if (r < 0.7) return random.int(Math.min(4096, max));
    if (r < 0.95) return Math.min(max, 4096 + random.int(60 * 1024));
    return Math.min(max, 64 * 1024 + random.int(Math.max(1, max - 64 * 1024)));
  }

  private begin(client: number, node: number, kind: OpKind, key: string): OpRecord {
    const op: OpRecord = { seq: this.seq++, client, node, kind, key, startMs: this.options.clock(), endMs: -1, outcome: 'unknown' };
    this.history.push(op);
    return op;
  }

  private async call(url: string, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
    return request(url, { ...options, dispatcher: this.agent, headersTimeout: this.options.opTimeoutMs, bodyTimeout: this.options.opTimeoutMs, signal: AbortSignal.timeout(this.options.opTimeoutMs * 2) });
  }

  private contextHeader(key: string, use: boolean): Record<string, string> {
    const context = use ? this.lastContext.get(key) : undefined;
    return context === undefined || context === '' ? {} : { 'vector-clock': context };
  }

  private async put(client: number, node: number, key: string, writeId: string, payloadBytes: number, withContext: boolean): Promise<void> {
    const body = makeBody(key, writeId, payloadBytes);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...this.contextHeader(key, withContext) };
    const op = this.begin(client, node, 'put', key);
    op.writeId = writeId;
    op.sha256 = sha256Hex(body);
    op.size = body.length;
    if (headers['vector-clock'] !== undefined) op.context = { ...parseVectorClockHeader(headers['vector-clock']) };
    await this.write(op, node, { method: 'PUT', body, headers }, (res, text) => {
      if (res.statusCode !== 200 && res.statusCode !== 201) return false;
      const json = JSON.parse(text) as { sha256?: string; vectorClock?: Record<string, number> };
      op.clock = json.vectorClock;
      if (json.sha256 !== op.sha256) op.error = `answer names sha256 ${json.sha256 ?? '?'}, the body's is ${op.sha256}`;
      return true;
    });
  }

  private async del(client: number, node: number, key: string, withContext: boolean): Promise<void> {
    const headers = this.contextHeader(key, withContext);
    const op = this.begin(client, node, 'delete', key);
    if (headers['vector-clock'] !== undefined) op.context = { ...parseVectorClockHeader(headers['vector-clock']) };
    await this.write(op, node, { method: 'DELETE', headers }, (res) => {
      if (res.statusCode !== 204) return false;
      const vc = res.headers['vector-clock'];
      if (typeof vc === 'string') op.clock = { ...parseVectorClockHeader(vc) };
      return true;
    });
  }

  /**
   * Sends one write of `op` to `node` and records its outcome: `accepted`
   * reads a 2xx answer into `op` and says whether it was one; anything else
   * is a failure with the start of the answer as its error, and no answer at
   * all (timeout, reset) leaves the outcome unknown.
   */
  private async write(op: OpRecord, node: number, options: { method: 'PUT' | 'DELETE'; body?: Buffer; headers: Record<string, string> }, accepted: (res: Dispatcher.ResponseData, text: string) => boolean): Promise<void> {
    try {
      const res = await this.call(`${this.options.nodeUrls[node]}/blobs/${op.key}`, options);
      const text = await res.body.text();
      op.status = res.statusCode;
      if (accepted(res, text)) {
        op.outcome = 'ok';
      } else {
        op.outcome = 'failed';
        op.error = text.slice(0, 200);
      }
    } catch (err) {
      op.error = (err as Error).message;
    } finally {
      op.endMs = this.options.clock();
    }
  }

  private async get(client: number, node: number, key: string): Promise<void> {
    const op = this.begin(client, node, 'get', key);
    try {
      const read = await readKey(this.options.nodeUrls[node] as string, key, (url, o) => this.call(url, o));
      Object.assign(op, read);
      if (read.context !== undefined) this.lastContext.set(key, read.context);
    } catch (err) {
      op.error = (err as Error).message;
    } finally {
      op.endMs = this.options.clock();
    }
  }
}

export interface KeyRead {
  status: number;
  outcome: OpRecord['outcome'];
  servedWriteId?: string;
  /** the sha256 of the bytes served */
  servedSha256?: string;
  problem?: string;
  error?: string;
  /** the Vector-Clock header, as sent */
  context?: string;
}

/** GET one key and check whatever body is served: whole, of this key, the one its ETag names. */
export async function readKey(
  base: string, key: string,
  call: (url: string, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>) => Promise<Dispatcher.ResponseData>,
): Promise<KeyRead> {
  const res = await call(`${base}/blobs/${key}`, { method: 'GET' });
  const body = Buffer.from(await res.body.arrayBuffer());
  const vc = res.headers['vector-clock'];
  const context = typeof vc === 'string' ? formatVectorClockHeader(parseVectorClockHeader(vc)) : undefined;
  if (res.statusCode === 404) return { status: 404, outcome: 'ok', context };
  if (res.statusCode !== 200) return { status: res.statusCode, outcome: 'failed', error: body.toString('utf8').slice(0, 200) };
  const checked = checkBody(body, key);
  const etag = res.headers.etag;
  const length = Number(res.headers['content-length']);
  const servedSha256 = sha256Hex(body);
  let problem = checked.ok ? undefined : checked.problem;
  if (problem === undefined && etag !== `"${servedSha256}"`) problem = `body does not match its ETag ${String(etag)}`;
  if (problem === undefined && Number.isFinite(length) && length !== body.length) problem = `Content-Length ${length}, ${body.length} bytes served`;
  return { status: 200, outcome: 'ok', servedWriteId: checked.ok ? checked.writeId : undefined, servedSha256, problem, context };
}
