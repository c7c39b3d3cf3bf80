import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a webhook request is signed in: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export const SIGNATURE_HEADER = 'apflow-signature';

/** Why a signature was refused, or the accepted `v1` value (which keys the replay check). */
export type SignatureCheck = { ok: true; signature: string } | { ok: false; reason: string };

/** The signature of `body` at `t` (unix seconds) with `secret`: what a sender puts after `v1=`. */
export function sign(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/**
 * Checks a signature header against the raw body (Stripe's scheme): the timestamp within
 * `toleranceS` of `nowMs`, and one of its `v1` values equal, in constant time, to the body's
 * HMAC with `secret`.
 */
export function checkSignature(
  header: string | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
  toleranceS: number,
): SignatureCheck {
  if (!header) return { ok: false, reason: `the ${SIGNATURE_HEADER} header is missing` };
  let t: number | undefined;
  const given: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) given.push(value.toLowerCase());
  }
  if (t === undefined || given.length === 0)
    return { ok: false, reason: `the ${SIGNATURE_HEADER} header must be t=<unix seconds>,v1=<hex HMAC-SHA256>` };
  if (Math.abs(nowMs / 1000 - t) > toleranceS)
    return {
      ok: false,
      reason: `the signature's timestamp is more than ${toleranceS} s away from this server's clock`,
    };
  const expected = Buffer.from(sign(secret, t, body), 'hex');
  for (const value of given) {
    if (timingSafeEqual(Buffer.from(value, 'hex'), expected)) return { ok: true, signature: value };
  }
  return {
    ok: false,
    reason: 'the signature does not match the body (HMAC-SHA256 of "<t>.<raw body>" with the secret)',
  };
}
