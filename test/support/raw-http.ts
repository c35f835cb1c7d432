/**
 * HTTP/1.1 over a raw socket, so a test can send request lines no HTTP client would: absolute URLs
 * (`GET http://x/fhir/... HTTP/1.1`), fragments, malformed percent-encodings, double slashes.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Parsed extends RawResponse {
  complete: boolean;
}

function parse(buf: Buffer): Parsed | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    return { status, headers, body: rest.subarray(0, n).toString('utf8'), complete: rest.length >= n };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', at);
      if (eol < 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: true };
      if (rest.length < eol + 2 + size + 2) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  return { status, headers, body: rest.toString('utf8'), complete: false };
}

/**
 * Sends one request and resolves with the response as soon as it is complete. Requests with a
 * body keep the connection open (the server may answer, e.g. 401, before reading the body, and a
 * close with unread data would reset the connection and lose the answer).
 */
export function rawRequest(port: number, method: string, target: string, options: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}): Promise<RawResponse> {
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const headers: Record<string, string> = { Host: 'payer.test', Connection: body ? 'keep-alive' : 'close', ...(options.headers ?? {}) };
  if (body) headers['Content-Length'] = String(body.length);
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (result: RawResponse | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no answer to ${method} ${target} within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
    socket.on('connect', () => {
      socket.write(head);
      if (body) socket.write(body);
    });
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      const parsed = parse(received);
      if (parsed?.complete) finish({ status: parsed.status, headers: parsed.headers, body: parsed.body });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The answer may already be complete; otherwise report.
      const parsed = parse(received);
      if (parsed && Number.isFinite(parsed.status)) finish({ status: parsed.status, headers: parsed.headers, body: parsed.body });
      else finish(e);
    });
    socket.on('close', () => {
      const parsed = parse(received);
      if (parsed && Number.isFinite(parsed.status)) finish({ status: parsed.status, headers: parsed.headers, body: parsed.body });
      else finish(new Error(`no HTTP answer to ${method} ${target}: ${JSON.stringify(received.subarray(0, 200).toString('latin1'))}`));
    });
  });
}
