/** Reads a request body up to a limit, without reading a larger one to its end. */

/** Largest webhook body read; Pulumi's payloads are a few KiB. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export type BodyRead = { ok: true; body: Uint8Array } | { ok: false; reason: "too-large" | "unreadable" };

/**
 * The body, or `too-large` as soon as it is known to exceed `limit`: from `Content-Length` before a byte is read,
 * or while a chunked body streams in (the stream is then cancelled, the rest never read); `unreadable` when the
 * stream fails.
 */
export async function readBodyCapped(request: Request, limit = MAX_WEBHOOK_BODY_BYTES): Promise<BodyRead> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared.trim()) > limit) {
    return { ok: false, reason: "too-large" };
  }
  const stream = request.body;
  if (stream === null) return { ok: true, body: new Uint8Array(0) };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      // The sender went away mid-body.
      return { ok: false, reason: "unreadable" };
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, reason: "too-large" };
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ok: true, body };
}
