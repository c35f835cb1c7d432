import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkUrl, guardedGet, isNonPublicAddress, OutboundRefused, type OutboundPolicy } from '../../src/security/outbound';

const dev: OutboundPolicy = { allowInsecureLoopback: true, allowPrivateNetworks: false };
const prod: OutboundPolicy = { allowInsecureLoopback: false, allowPrivateNetworks: false };

describe('SSRF guard', () => {
  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
      expect({ a, nonPublic: isNonPublicAddress(a).nonPublic }).toEqual({ a, nonPublic: true });
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888']) expect({ a, nonPublic: isNonPublicAddress(a).nonPublic }).toEqual({ a, nonPublic: false });
  });

  it.each([
    ['a non-http scheme', 'file:///etc/passwd', dev, /scheme/],
    ['plain http in production', 'http://127.0.0.1:1/fhir', prod, /plain http/],
    ['plain http to a non-loopback address', 'http://10.0.0.8/fhir', dev, /plain http/],
    ['https to a private address literal', 'https://10.0.0.8/fhir', dev, /not public/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', dev, /not public/],
    ['credentials in the URL', 'https://user:pw@ehr.example/fhir', dev, /credentials/],
  ])('refuses %s before connecting', (_n, url, policy, message) => {
    expect(() => checkUrl(new URL(url), null, policy)).toThrow(OutboundRefused);
    expect(() => checkUrl(new URL(url), null, policy)).toThrow(message);
  });

  it('refuses an origin that is not registered for the client', () => {
    expect(() => checkUrl(new URL('https://ehr.example/fhir'), ['https://other.example'], dev)).toThrow(/not allowed for this client/);
  });

  it('checks the resolved address at connect time: localhost over https is refused without private networks', async () => {
    await expect(guardedGet(new URL('https://localhost:9/x'), { headers: {}, timeoutMs: 1000, maxBytes: 100, policy: dev, allowedOrigins: null })).rejects.toThrow(/not public/);
  });

  it('does not follow redirects, enforces the size limit and the timeout', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { Location: 'http://169.254.169.254/' });
        res.end();
      } else if (req.url === '/big') {
        res.writeHead(200);
        res.end('x'.repeat(5000));
      } else setTimeout(() => res.end('late'), 2000).unref();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const opts = { headers: {}, timeoutMs: 300, maxBytes: 1000, policy: dev, allowedOrigins: null };
    try {
      expect((await guardedGet(new URL(`${base}/redirect`), opts)).status).toBe(302);
      await expect(guardedGet(new URL(`${base}/big`), opts)).rejects.toThrow(/over 1000 bytes/);
      await expect(guardedGet(new URL(`${base}/slow`), opts)).rejects.toThrow(/timed out/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
