/**
 * The pure parts of TLS (src/tls.ts, src/tls-codes.ts): the `tls.*` option
 * rules as the node and the Point build them, and which errors count as a
 * certificate that did not verify. Loading real files is proved in
 * test/integration/tls.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildNodeConfig } from '../../src/node/config.js';
import { buildPointConfig } from '../../src/bootstrap/config.js';
import { ConfigError } from '../../src/errors.js';
import { certificateFailure } from '../../src/tls-codes.js';
import { dialingOf, PLAIN, schemeOf, trustOf } from '../../src/tls.js';

function refusal(build: () => unknown): { option: string; rule: string } {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { option: (err as ConfigError).option, rule: (err as ConfigError).rule };
  }
  throw new Error('expected a ConfigError');
}

describe('tls options', () => {
  it('default to none: plain HTTP', () => {
    expect(buildNodeConfig().tls).toEqual({});
    expect(buildPointConfig().tls).toEqual({});
  });

  it('take a certificate with its key, and a CA alone', () => {
    expect(buildNodeConfig({ tls: { cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' } }).tls).toEqual({ cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' });
    expect(buildNodeConfig({ tls: { ca: 'ca.pem' } }).tls).toEqual({ ca: 'ca.pem' });
    expect(buildPointConfig({ tls: { cert: 'c.pem', key: 'k.pem' } }).tls).toEqual({ cert: 'c.pem', key: 'k.pem' });
  });

  it('refuse a certificate without its key and the reverse, naming the missing one', () => {
    expect(refusal(() => buildNodeConfig({ tls: { cert: 'c.pem' } }))).toEqual({ option: 'tls.key', rule: 'is needed with --tls-cert (TLS_CERT)' });
    expect(refusal(() => buildNodeConfig({ tls: { key: 'k.pem' } }))).toEqual({ option: 'tls.cert', rule: 'is needed with --tls-key (TLS_KEY)' });
    expect(refusal(() => buildPointConfig({ tls: { cert: 'c.pem', ca: 'ca.pem' } }))).toEqual({ option: 'tls.key', rule: 'is needed with --tls-cert (TLS_CERT)' });
    expect(refusal(() => buildNodeConfig({ tls: { cert: '', key: 'k.pem' } })).option).toBe('tls.cert');
    expect(refusal(() => buildNodeConfig({ tls: { crt: 'c.pem' } as never })).option).toBe('tls.crt');
  });
});

describe('dialling', () => {
  it('is http without a certificate, https with one; the CA goes to undici only when given', () => {
    expect(schemeOf(PLAIN)).toBe('http');
    expect(trustOf(PLAIN)).toEqual({});
    const ca = Buffer.from('pem');
    expect(trustOf({ ca })).toEqual({ ca });
    expect(dialingOf({ server: undefined, ca })).toEqual({ scheme: 'http', ca });
  });
});

describe('certificateFailure', () => {
  it('finds a verification code in the error or its causes (fetch and undici wrap them)', () => {
    const leaf = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(certificateFailure(leaf)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(certificateFailure(new TypeError('fetch failed', { cause: leaf }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const name = Object.assign(new Error('Hostname/IP does not match'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(certificateFailure(new AggregateError([name], ''))).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('is undefined for failures that are not about a certificate', () => {
    expect(certificateFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(certificateFailure(new Error('x'))).toBeUndefined();
    expect(certificateFailure('text')).toBeUndefined();
    expect(certificateFailure(undefined)).toBeUndefined();
  });
});
