/**
 * Every error code is documented in docs/errors.md with its status, and the
 * doc names no code that does not exist (as fastify's errors test does).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, CdnError, ConfigError, errorBody, type ErrorCode } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it('each code has a row in docs/errors.md with its HTTP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(doc, `${code} missing from docs/errors.md`).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${spec.status}\\s*\\|`));
    }
  });

  it('the doc names no code that does not exist', () => {
    const named = new Set(doc.match(/\b[A-Z]+_ERR_[A-Z_]+\b/g) ?? []);
    for (const code of named) expect(Object.keys(ERROR_CODES), `${code} is documented but not defined`).toContain(code);
  });

  it('codes are grouped by subsystem prefix', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^(CDN|GOSSIP|POINT|CONFIG)_ERR_[A-Z_]+$/);
  });

  it('errors become the JSON error shape with their status; unknown ones become INTERNAL', () => {
    const e = new CdnError('CDN_ERR_BAD_GUID', 'nope');
    expect(errorBody(e)).toEqual({ status: 400, body: { error: { code: 'CDN_ERR_BAD_GUID', message: 'nope' } } });
    const other = errorBody(new Error('secret detail'));
    expect(other.status).toBe(500);
    expect(other.body.error.code).toBe('CDN_ERR_INTERNAL' satisfies ErrorCode);
    expect(JSON.stringify(other)).not.toContain('secret detail');
  });

  it('a config error carries its stable code, the option and the rule', () => {
    const e = new ConfigError('membership.probeTimeoutMs', 'must be at most half of probeIntervalMs');
    expect(e).toBeInstanceOf(CdnError);
    expect([e.code, e.option, e.rule]).toEqual(['CONFIG_ERR_INVALID', 'membership.probeTimeoutMs', 'must be at most half of probeIntervalMs']);
    expect(e.message).toBe('membership.probeTimeoutMs: must be at most half of probeIntervalMs');
    expect(errorBody(e).body.error).toMatchObject({ code: 'CONFIG_ERR_INVALID', details: { option: 'membership.probeTimeoutMs' } });
  });
});
