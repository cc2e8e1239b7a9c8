/**
 * TLS on every plane (issue 13): `--tls-cert FILE --tls-key FILE [--tls-ca FILE]`
 * (TLS_CERT, TLS_KEY, TLS_CA) on the node and on the Point.
 *
 * - With a certificate and its key, every listener of the process speaks
 *   HTTPS only (node:https, with the same timeouts, header limits and
 *   connection caps as plain HTTP, and a handshake timeout).
 * - A node with TLS dials its peers over HTTPS (peer addresses stay
 *   `host:port`: a cluster is all-TLS or all-plain) and verifies them
 *   against `--tls-ca` when given, else the system CAs. Hostname
 *   verification stays on: a peer's certificate must name the address it
 *   advertises (an IP SAN for an IP address).
 * - `--tls-ca` also verifies an `https://` Point.
 *
 * The files are read once at start (no reload) and checked: unreadable,
 * too big, not PEM, or a key that does not match the certificate is a
 * ConfigError naming the option (`tls.cert`), which the commands turn into
 * the flag the user typed (`--tls-cert (TLS_CERT): ...`).
 */
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { isIP } from 'node:net';
import { createServer as createPlainServer, type RequestListener, type Server as HttpPlainServer, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { z } from 'zod';
import { ConfigError } from './errors.js';

export { certificateFailure } from './tls-codes.js';

/** A PEM file larger than this is refused before it is read (a CA bundle of a few hundred certificates fits). */
export const MAX_PEM_BYTES = 1024 * 1024;

/** The file names, as configured (`tls.*` under the node or the Point). */
export interface TlsFiles {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
}

const file = z.string({ error: 'must be a file name' }).min(1, 'must not be empty').optional();

/** `tls: { cert, key, ca }`: a certificate needs its key and a key its certificate; the CA stands alone. */
export const TLS_FILES_SCHEMA = z.strictObject({ cert: file, key: file, ca: file }).superRefine((t, ctx) => {
  if (t.cert !== undefined && t.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'is needed with --tls-cert (TLS_CERT)' });
  if (t.key !== undefined && t.cert === undefined) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'is needed with --tls-key (TLS_KEY)' });
});

/** The flags behind `tls.*`, for the commands' flag maps (the node's options sit at the root, as do the Point's). */
export const TLS_FLAGS: Readonly<Record<string, string>> = {
  'tls.cert': '--tls-cert (TLS_CERT)',
  'tls.key': '--tls-key (TLS_KEY)',
  'tls.ca': '--tls-ca (TLS_CA)',
};

/** What a process serves with and trusts, loaded. */
export interface TlsSetup {
  /** the listener's certificate and key; undefined: plain HTTP */
  readonly server: { readonly cert: Buffer; readonly key: Buffer; readonly certificate: X509Certificate } | undefined;
  /** extra trust for outgoing calls (peers, the Point); undefined: the system CAs */
  readonly ca: Buffer | undefined;
}

export const PLAIN: TlsSetup = Object.freeze({ server: undefined, ca: undefined });

/** The scheme of this process's listeners, and of the peers it dials (a cluster is all-TLS or all-plain). */
export function schemeOf(tls: TlsSetup): 'http' | 'https' {
  return tls.server === undefined ? 'http' : 'https';
}

/** How this process dials peers: the scheme, and the CA that verifies them (undefined: the system CAs). */
export interface Dialing {
  readonly scheme: 'http' | 'https';
  readonly ca: Buffer | undefined;
}

export const PLAIN_DIALING: Dialing = Object.freeze({ scheme: 'http', ca: undefined });

export function dialingOf(tls: TlsSetup): Dialing {
  return { scheme: schemeOf(tls), ca: tls.ca };
}

/** undici `connect` options that add the configured CA (the system CAs otherwise); hostname checks stay on. */
export function trustOf(tls: { readonly ca: Buffer | undefined }): { ca?: Buffer } {
  return tls.ca === undefined ? {} : { ca: tls.ca };
}

function readPem(path: string, option: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (size > MAX_PEM_BYTES) throw new ConfigError(option, `${path} is larger than ${MAX_PEM_BYTES} bytes; not a PEM file`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function certificate(pem: Buffer, path: string, option: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(option, `${path} holds no PEM certificate`);
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(option, `${path} is not a valid PEM certificate`);
  }
}

/**
 * Reads and checks the configured files.
 * @throws ConfigError naming `tls.cert`, `tls.key` or `tls.ca` and what is wrong (never the key's bytes).
 */
export function loadTls(files: TlsFiles): TlsSetup {
  const ca = files.ca === undefined ? undefined : readPem(files.ca, 'tls.ca');
  if (ca !== undefined && files.ca !== undefined) certificate(ca, files.ca, 'tls.ca');
  if (files.cert === undefined || files.key === undefined) {
    if (files.cert !== undefined) throw new ConfigError('tls.key', 'is needed with --tls-cert (TLS_CERT)');
    if (files.key !== undefined) throw new ConfigError('tls.cert', 'is needed with --tls-key (TLS_KEY)');
    return { server: undefined, ca };
  }
  const cert = readPem(files.cert, 'tls.cert');
  const parsed = certificate(cert, files.cert, 'tls.cert');
  const key = readPem(files.key, 'tls.key');
  try {
    createPrivateKey(key);
  } catch {
    throw new ConfigError('tls.key', `${files.key} is not a valid PEM private key`);
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new ConfigError('tls.key', `${files.key} is not the key of the certificate in ${files.cert}`);
  }
  return { server: { cert, key, certificate: parsed }, ca };
}

/**
 * Whether the certificate names `host` the way a verifying client checks it
 * (an IP SAN for an IP address, a DNS name otherwise). Wildcard hosts
 * (0.0.0.0, ::) are not checked: the advertised address is what peers dial.
 */
export function certificateNames(certificate: X509Certificate, host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0 ? certificate.checkIP(bare) !== undefined : certificate.checkHost(bare) !== undefined;
}

/** A listener: node:http, or node:https when the process has a certificate. */
export type HttpServer = HttpPlainServer | HttpsServer;

/**
 * The process's listener: `options` (timeouts, header limits) on node:http,
 * or on node:https with the certificate, where a TLS handshake must finish
 * within `handshakeTimeoutMs` (the silent-connection bound: a client that
 * opens a socket and never completes the handshake is dropped after it).
 */
export function createListener(options: ServerOptions, tls: TlsSetup, handshakeTimeoutMs: number, handler: RequestListener): HttpServer {
  if (tls.server === undefined) return createPlainServer(options, handler);
  return createHttpsServer({ ...options, cert: tls.server.cert, key: tls.server.key, handshakeTimeout: handshakeTimeoutMs }, handler);
}
