/**
 * Pulumi Cloud signs each delivery: `Pulumi-Webhook-Signature` is the hex HMAC-SHA256 of the raw body, keyed with
 * the webhook's secret. Checked before anything else reads the body.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The signature Pulumi Cloud sends for `body` (also what the simulator signs with). */
export function signWebhook(secret: string, body: Uint8Array | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * Whether `signature` is the body's. Constant time in the signature's content: a header of another length is
 * compared against the expected value's own bytes, so neither its length nor its first differing byte shows in
 * the time taken. Hex case is ignored (Go's `%x` is lower case; some senders upper-case).
 */
export function verifyWebhookSignature(
  secret: string,
  body: Uint8Array,
  signature: string | null | undefined,
): boolean {
  if (signature === null || signature === undefined) return false;
  const expected = Buffer.from(signWebhook(secret, body), "utf8");
  const given = Buffer.from(signature.trim().toLowerCase(), "utf8");
  const sameLength = given.length === expected.length;
  // timingSafeEqual needs equal lengths: compare the expected value with itself instead, and fail afterwards.
  const equal = timingSafeEqual(sameLength ? given : expected, expected);
  return sameLength && equal;
}
