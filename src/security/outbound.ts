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
import ipaddr from 'ipaddr.js';

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

/**
 * How an IP address may be reached. Classified with ipaddr.js (which parses every written form) and
 * the IANA special-purpose registries: only global unicast is public. IPv6 forms that carry an IPv4
 * address are judged by that address: IPv4-mapped (::ffff:a.b.c.d, in any spelling such as
 * ::ffff:7f00:1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16); the deprecated IPv4-compatible
 * (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and Teredo forms are never public. Only true
 * loopback (127/8, ::1 and 127/8 mapped) counts as loopback.
 */
export interface AddressClass {
  public: boolean;
  loopback: boolean;
  /** Why it is not public (for logs), e.g. 'loopback', 'private', 'linkLocal', 'metadata'. */
  range: string;
}

const cidrs = (list: string[]) => list.map((c) => ipaddr.parseCIDR(c));

/** IPv4 blocks ipaddr.js 1.9 calls unicast that are not globally reachable, and cloud metadata addresses. */
const V4_NOT_GLOBAL = cidrs(['198.18.0.0/15', '192.31.196.0/24', '192.52.193.0/24', '192.175.48.0/24']);
const V4_METADATA = cidrs(['169.254.169.254/32', '169.254.170.2/32', '168.63.129.16/32', '100.100.100.200/32', '192.0.0.192/32']);
/** IPv6: global unicast is 2000::/3; within it, IETF protocol assignments, documentation, local-use NAT64. */
const V6_GLOBAL = ipaddr.IPv6.parseCIDR('2000::/3');
const V6_NOT_GLOBAL = cidrs(['2001::/23', '2001:db8::/32', '3fff::/20', '64:ff9b:1::/48']);
const V6_METADATA = cidrs(['fd00:ec2::254/128']);

function inAny(addr: ipaddr.IPv4 | ipaddr.IPv6, list: [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  return list.some(([net, bits]) => net.kind() === addr.kind() && (addr as ipaddr.IPv4).match(net as ipaddr.IPv4, bits));
}

function classifyV4(addr: ipaddr.IPv4): AddressClass {
  if (inAny(addr, V4_METADATA)) return { public: false, loopback: false, range: 'metadata' };
  const range = addr.range();
  if (range !== 'unicast') return { public: false, loopback: range === 'loopback', range };
  if (inAny(addr, V4_NOT_GLOBAL)) return { public: false, loopback: false, range: 'reserved' };
  return { public: true, loopback: false, range: 'unicast' };
}

function embeddedV4(parts: number[], at: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([parts[at] >> 8, parts[at] & 0xff, parts[at + 1] >> 8, parts[at + 1] & 0xff]);
}

function classifyV6(addr: ipaddr.IPv6): AddressClass {
  if (inAny(addr, V6_METADATA)) return { public: false, loopback: false, range: 'metadata' };
  const range = addr.range();
  const p = addr.parts;
  switch (range) {
    case 'ipv4Mapped': {
      // The OS connects to the IPv4 address itself.
      const v4 = classifyV4(embeddedV4(p, 6));
      return { ...v4, range: v4.public ? 'unicast' : `ipv4Mapped ${v4.range}` };
    }
    case 'rfc6052':
    case '6to4': {
      // Reached through a translator or relay: public only if the IPv4 address it leads to is.
      const v4 = classifyV4(embeddedV4(p, range === '6to4' ? 1 : 6));
      return { public: v4.public, loopback: false, range: v4.public ? 'unicast' : `${range} ${v4.range}` };
    }
    case 'unicast':
      break;
    default:
      return { public: false, loopback: range === 'loopback', range };
  }
  // IPv4-compatible (::a.b.c.d, deprecated) and everything outside global unicast.
  if (p.slice(0, 6).every((x) => x === 0)) return { public: false, loopback: false, range: 'ipv4Compatible' };
  if (!addr.match(V6_GLOBAL) || inAny(addr, V6_NOT_GLOBAL)) return { public: false, loopback: false, range: 'reserved' };
  return { public: true, loopback: false, range: 'unicast' };
}

/** IPv6 text with a trailing dotted quad (::127.0.0.1, 64:ff9b::8.8.8.8) in all-hex form, which ipaddr.js 1.9 parses. */
function hexTail(text: string): string {
  const m = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[2])) return text;
  const [a, b, c, d] = ipaddr.IPv4.parse(m[2]).octets;
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

export function classifyAddress(address: string): AddressClass {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(hexTail(address.replace(/^\[|\]$/g, '')));
  } catch {
    return { public: false, loopback: false, range: 'invalid' };
  }
  return addr.kind() === 'ipv4' ? classifyV4(addr as ipaddr.IPv4) : classifyV6(addr as ipaddr.IPv6);
}

/** Whether an IP address is anything but global unicast (loopback, private, link-local, metadata...). */
export function isNonPublicAddress(address: string): { nonPublic: boolean; loopback: boolean } {
  const c = classifyAddress(address);
  return { nonPublic: !c.public, loopback: c.loopback };
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
