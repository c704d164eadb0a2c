/**
 * Reading response bodies with a bound. Bun's fetch decompresses gzip itself, so the bytes counted here are the
 * decompressed ones: a small compressed body cannot expand past the bound either.
 */

/** The body grew past the bound; the transfer was cancelled. */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super(`response body exceeds ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

/** Error bodies only ever give a short detail for the message: more than this is not read. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

type Pause = () => Promise<void> | undefined;

const EMPTY = new Uint8Array(0);
const noPause: Pause = () => undefined;

const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/**
 * The chunks as one array. A 50 MB copy (and the page faults of a fresh 50 MB buffer) would stall the event loop
 * for ~100 ms, so the copy goes chunk by chunk, with `pause` between (see timeSlicer).
 */
async function join(chunks: Uint8Array[], total: number, pause: Pause): Promise<Uint8Array> {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as Uint8Array;
    out.set(chunk, offset);
    offset += chunk.byteLength;
    // Copied: its memory can go while the rest is copied.
    chunks[i] = EMPTY;
    const turn = pause();
    if (turn) await turn;
  }
  return out;
}

/**
 * The whole body, read chunk by chunk. Past `maxBytes` the stream is cancelled (which closes the connection
 * instead of draining it) and BodyTooLargeError thrown; so is any read error.
 */
export async function readBody(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  pause: Pause = noPause,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw new BodyTooLargeError(maxBytes);
      chunks.push(value);
    }
  } catch (error) {
    // Not awaited: a peer that stops sending must not hold the caller up.
    reader.cancel().catch(() => {});
    throw error;
  }
  return join(chunks, total, pause);
}

/**
 * The same response with its body read (at most ERROR_BODY_MAX_BYTES of it; a longer one is dropped), so that
 * an error answer never costs more than that, whatever its size.
 */
export async function withBoundedBody(
  response: Response,
  maxBytes = ERROR_BODY_MAX_BYTES,
): Promise<Response> {
  let body: Uint8Array | null = null;
  // A 304 (or 204) may not have a body at all, not even an empty one.
  if (response.body !== null && !NULL_BODY_STATUSES.has(response.status)) {
    try {
      body = await readBody(response.body, maxBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
    }
  }
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
