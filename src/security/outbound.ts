/**
 * The one way this service calls out (EHR FHIR servers, JWKS URLs): an SSRF guard around
 * node:http/https. Only allowed origins; https unless loopback http is allowed for development;
 * the address a name resolves to is checked at connect time (no DNS rebinding), so private and
 * link-local networks are refused unless configured; no redirects; timeouts and a size limit.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface OutboundPolicy {
  /** Allow plain http to loopback addresses (development and tests). */
  allowInsecureLoopback: boolean;
  /** Allow private, link-local and loopback addresses over https. */
  allowPrivateNetworks: boolean;
}

export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Whether an IP address is loopback, private, link-local, unique-local, CGNAT or unspecified. */
export function isNonPublicAddress(address: string): { nonPublic: boolean; loopback: boolean } {
  const v4 = net.isIPv4(address) ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) {
    const [a, b] = v4.split('.').map(Number);
    const loopback = a === 127;
    const nonPublic = loopback || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
    return { nonPublic, loopback };
  }
  const v6 = address.toLowerCase();
  const loopback = v6 === '::1';
  const nonPublic = loopback || v6 === '::' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe8') ||
    v6.startsWith('fe9') || v6.startsWith('fea') || v6.startsWith('feb') || v6.startsWith('ff');
  return { nonPublic, loopback };
}

/** Checks a URL against the policy before any connection is made. */
export function checkUrl(url: URL, allowedOrigins: readonly string[] | null, policy: OutboundPolicy): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OutboundRefused(`scheme ${url.protocol} is not allowed`);
  if (allowedOrigins && !allowedOrigins.includes(url.origin)) throw new OutboundRefused(`origin ${url.origin} is not allowed for this client`);
  if (url.username || url.password) throw new OutboundRefused('URLs with credentials are not allowed');
  if (url.protocol === 'http:' && !policy.allowInsecureLoopback) throw new OutboundRefused('plain http is not allowed; use https');
  // Node connects to IP literals without a DNS lookup, so they are checked here, before any connection.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) {
    const { nonPublic, loopback } = isNonPublicAddress(host);
    if (url.protocol === 'http:' && !loopback) throw new OutboundRefused(`plain http to ${host} is not allowed`);
    if (nonPublic && !(loopback && url.protocol === 'http:' && policy.allowInsecureLoopback) && !policy.allowPrivateNetworks) {
      throw new OutboundRefused(`address ${host} is not public`);
    }
  }
}

function guardedLookup(url: URL, policy: OutboundPolicy) {
  return (
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const { nonPublic, loopback } = isNonPublicAddress(a.address);
        const insecureLoopbackOk = url.protocol === 'http:' && loopback && policy.allowInsecureLoopback;
        if (url.protocol === 'http:' && !loopback) {
          return callback(Object.assign(new Error(`plain http to ${a.address} is not allowed`), { code: 'EREFUSED' }), '', 0);
        }
        if (nonPublic && !insecureLoopbackOk && !policy.allowPrivateNetworks) {
          return callback(Object.assign(new Error(`address ${a.address} is not public`), { code: 'EREFUSED' }), '', 0);
        }
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** GET with the guard; resolves with the whole body (up to maxBytes) or rejects. */
export function guardedGet(
  target: URL,
  opts: { headers: Record<string, string>; timeoutMs: number; maxBytes: number; signal?: AbortSignal; policy: OutboundPolicy; allowedOrigins: readonly string[] | null },
): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    try {
      checkUrl(target, opts.allowedOrigins, opts.policy);
    } catch (e) {
      reject(e);
      return;
    }
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request(target, {
      method: 'GET',
      headers: opts.headers,
      lookup: guardedLookup(target, opts.policy) as never,
      timeout: opts.timeoutMs,
      signal: opts.signal,
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), opts.timeoutMs);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length']);
      if (declared > opts.maxBytes) {
        clearTimeout(timer);
        res.destroy();
        reject(Object.assign(new Error(`response over ${opts.maxBytes} bytes`), { name: 'TooLarge' }));
        return;
      }
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) {
          clearTimeout(timer);
          res.destroy();
          req.destroy();
          reject(Object.assign(new Error(`response over ${opts.maxBytes} bytes`), { name: 'TooLarge' }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.end();
  });
}
