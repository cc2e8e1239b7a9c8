/**
 * Which errors are a certificate that did not verify, apart from src/tls.ts
 * so the client commands can tell them without loading node:https or zod.
 */

/** Error codes of a certificate that did not verify (OpenSSL's, and Node's own for a name mismatch). */
const CERTIFICATE_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA', 'HOSTNAME_MISMATCH',
]);

/** The code of a failed certificate check somewhere in `err` (undici and fetch wrap causes), or undefined. */
export function certificateFailure(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 4) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) return code;
  const inner = (err as { errors?: unknown[] }).errors?.[0] ?? (err as { cause?: unknown }).cause;
  return certificateFailure(inner, depth + 1);
}
