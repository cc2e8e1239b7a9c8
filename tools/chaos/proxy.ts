/**
 * A fault-injecting TCP proxy between the nodes of a chaos cluster.
 *
 * Node i serves on ip_i:internalPort_i and advertises ip_i:proxyPort; the
 * proxy listens on ip_i:proxyPort. Nodes dial from their own address, so
 * when a connection arrives the proxy knows both ends: the source IP names
 * the sending node, the listener names the target. It applies the rule for
 * (source → target) and, if the link passes, dials the target's internal
 * port *from the source's IP*, so the target's peer authentication (which
 * checks that a peer speaks from its registered address) still sees the
 * real peer.
 *
 * A rule is a cut (`reset`: refused at once, `blackhole`: accepted and held
 * silently until the rule changes) or a pass with optional added latency per
 * forwarded chunk, a chance per chunk that the connection dies, and a chance
 * per chunk that it is lost. Loss is what TCP shows an application of lost
 * packets: not a hole in the stream (TCP never delivers one; dropping bytes
 * here would be corruption, which the nodes rightly treat as a lying peer)
 * but a stall, the lost chunk and everything behind it waiting for the
 * retransmission: TCP's minimum retransmission timeout (200 ms, Linux's
 * TCP_RTO_MIN), doubled each time the retransmission is lost too. Changing
 * the rules also applies them to connections already open: a newly cut link
 * loses (reset) or freezes (blackhole) its open connections.
 *
 * Bounded: at most `maxConnections` connections at once (beyond: reset), and
 * at most `maxBufferedBytes` delayed in each direction of a connection
 * (beyond: the sender is paused until the delayed bytes are written).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SeededRandom } from '../sim/seeded-random.js';
import type { CutMode } from './schedule.js';

export interface LinkRule {
  cut?: CutMode;
  /** added delay per forwarded chunk, uniform in [lo, hi] ms */
  latencyMs?: readonly [number, number];
  /** chance that a forwarded chunk kills its connection instead */
  dropRate?: number;
  /** chance that a forwarded chunk (and each of its retransmissions) is lost: it and those behind it wait a retransmission timeout */
  lossRate?: number;
}

/**
 * The stall of a lost chunk: TCP's minimum retransmission timeout, doubled
 * per retransmission lost in turn; after this many the chunk goes through
 * (a real connection would keep trying for minutes, and the nodes' own
 * timeouts end it first).
 */
export const RETRANSMISSION = { minTimeoutMs: 200, maxTries: 5 } as const;

export interface ProxyEndpoint {
  /** the node's own loopback address (it listens and dials from here) */
  ip: string;
  /** where the proxy listens for this node, on `ip` (the node advertises ip:proxyPort) */
  proxyPort: number;
  /** where the node itself listens, on `ip` */
  internalPort: number;
}

export interface ProxyOptions {
  maxConnections: number;
  maxBufferedBytes: number;
  /** connect timeout to a target, ms */
  connectTimeoutMs: number;
  seed: number;
}

export const PROXY_DEFAULTS: Omit<ProxyOptions, 'seed'> = { maxConnections: 512, maxBufferedBytes: 1024 * 1024, connectTimeoutMs: 5000 };

export interface ProxyStats {
  accepted: number;
  forwarded: number;
  refused: number;
  blackholed: number;
  dropped: number;
  /** chunks lost and retransmitted (one per chunk, however many tries it took) */
  lost: number;
  overLimit: number;
}

const PASS: LinkRule = Object.freeze({});

interface Link {
  from: number;
  to: number;
  client: Socket;
  upstream: Socket | undefined;
  held: boolean;
}

export class FaultProxy {
  private readonly servers: Server[] = [];
  private readonly links = new Set<Link>();
  private rule: (from: number, to: number) => LinkRule = () => PASS;
  private readonly random: SeededRandom;
  readonly stats: ProxyStats = { accepted: 0, forwarded: 0, refused: 0, blackholed: 0, dropped: 0, lost: 0, overLimit: 0 };

  constructor(private readonly endpoints: readonly ProxyEndpoint[], private readonly options: ProxyOptions) {
    this.random = new SeededRandom(options.seed);
  }

  async start(): Promise<void> {
    for (const [to, e] of this.endpoints.entries()) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket, to));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(e.proxyPort, e.ip, () => { server.off('error', reject); resolve(); });
      });
    }
  }

  /** Replaces the rules; open connections on links that are now cut are reset or frozen, held ones on links that are no longer cut are closed. */
  setRules(rule: (from: number, to: number) => LinkRule): void {
    this.rule = rule;
    for (const link of [...this.links]) {
      const r = this.ruleFor(link.from, link.to);
      if (link.held && r.cut !== 'blackhole') this.close(link, true);
      else if (!link.held && r.cut === 'reset') this.close(link, true);
      else if (!link.held && r.cut === 'blackhole') this.hold(link);
    }
  }

  heal(): void {
    this.setRules(() => PASS);
  }

  get openConnections(): number {
    return this.links.size;
  }

  async stop(): Promise<void> {
    for (const link of [...this.links]) this.close(link, true);
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  private ruleFor(from: number, to: number): LinkRule {
    return from < 0 || from === to ? PASS : this.rule(from, to);
  }

  private accept(client: Socket, to: number): void {
    this.stats.accepted++;
    const source = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    const from = this.endpoints.findIndex((e) => e.ip === source);
    const target = this.endpoints[to] as ProxyEndpoint;
    client.on('error', () => undefined);
    if (this.links.size >= this.options.maxConnections) {
      this.stats.overLimit++;
      client.resetAndDestroy();
      return;
    }
    const rule = this.ruleFor(from, to);
    if (rule.cut === 'reset') {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    const link: Link = { from, to, client, upstream: undefined, held: false };
    this.links.add(link);
    client.once('close', () => this.close(link, false));
    if (rule.cut === 'blackhole') {
      this.hold(link);
      return;
    }
    const upstream = connect({ host: target.ip, port: target.internalPort, ...(from >= 0 ? { localAddress: source } : {}), timeout: this.options.connectTimeoutMs });
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.once('timeout', () => { if (upstream.connecting) this.close(link, true); });
    upstream.once('close', () => this.close(link, false));
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      if (link.held || !this.links.has(link)) return;
      this.stats.forwarded++;
      this.pipe(link, client, upstream);
      this.pipe(link, upstream, client);
      client.resume();
    });
  }

  /**
   * Forwards `src` to `dst` under the link's current rule: drops kill the
   * link, latency delays each chunk, a lost chunk waits for its
   * retransmission (holding those behind it, as TCP does). Delayed chunks wait in one FIFO queue
   * per direction, released by one timer at a time, so they leave in the
   * order they came whatever the timers do (one timer per chunk could fire
   * out of order: each was computed from Date.now(), armed against the event
   * loop's cached time), and a chunk that arrives when no latency applies
   * still waits behind those already delayed.
   */
  private pipe(link: Link, src: Socket, dst: Socket): void {
    const delayed: { chunk: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let lastAt = 0;
    let buffered = 0;
    let draining = false;
    let ended = false;
    const maybeResume = (): void => {
      if (!link.held && !draining && buffered < this.options.maxBufferedBytes) src.resume();
    };
    const write = (chunk: Buffer): void => {
      if (link.held || dst.destroyed) return;
      if (!dst.write(chunk) && !draining) {
        draining = true;
        src.pause();
        dst.once('drain', () => { draining = false; maybeResume(); });
      }
    };
    const finish = (): void => {
      if (ended && delayed.length === 0 && !link.held && !dst.destroyed) dst.end();
    };
    const release = (): void => {
      timer = undefined;
      const now = Date.now();
      while (delayed.length > 0 && (delayed[0] as { at: number }).at <= now) {
        const { chunk } = delayed.shift() as { chunk: Buffer };
        buffered -= chunk.length;
        write(chunk);
      }
      if (delayed.length > 0) timer = setTimeout(release, Math.max(1, (delayed[0] as { at: number }).at - now));
      maybeResume();
      finish();
    };
    src.on('data', (chunk: Buffer) => {
      if (link.held) return;
      const rule = this.ruleFor(link.from, link.to);
      if (rule.dropRate !== undefined && this.random.next() < rule.dropRate) {
        this.stats.dropped++;
        if (timer !== undefined) clearTimeout(timer);
        this.close(link, true);
        return;
      }
      const stallMs = rule.lossRate === undefined ? 0 : this.retransmissionStall(rule.lossRate);
      if (rule.latencyMs === undefined && stallMs === 0 && delayed.length === 0) {
        write(chunk);
        return;
      }
      const [lo, hi] = rule.latencyMs ?? [0, 0];
      // never before the chunk ahead of it
      lastAt = Math.max(lastAt, Date.now() + lo + this.random.next() * (hi - lo) + stallMs);
      delayed.push({ chunk, at: lastAt });
      buffered += chunk.length;
      timer ??= setTimeout(release, Math.max(1, (delayed[0] as { at: number }).at - Date.now()));
      if (buffered >= this.options.maxBufferedBytes) src.pause();
    });
    src.once('end', () => {
      ended = true;
      finish();
    });
    src.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    });
  }

  /** How long a chunk waits for its retransmissions: 0 when it is not lost, else 200 ms, + 400 ms if that is lost too, ... */
  private retransmissionStall(lossRate: number): number {
    let stall = 0;
    for (let tries = 0; tries < RETRANSMISSION.maxTries && this.random.next() < lossRate; tries++) stall += RETRANSMISSION.minTimeoutMs * 2 ** tries;
    if (stall > 0) this.stats.lost++;
    return stall;
  }

  private hold(link: Link): void {
    if (!link.held) this.stats.blackholed++;
    link.held = true;
    link.client.pause();
    link.upstream?.pause();
  }

  private close(link: Link, reset: boolean): void {
    if (!this.links.delete(link)) return;
    for (const s of [link.client, link.upstream]) {
      if (s === undefined || s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
