import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkUrl, classifyAddress, guardedGet, isNonPublicAddress, OutboundRefused, type OutboundPolicy } from '../../src/security/outbound';

const dev: OutboundPolicy = { allowInsecureLoopback: true, allowPrivateNetworks: false };
const prod: OutboundPolicy = { allowInsecureLoopback: false, allowPrivateNetworks: false };

describe('SSRF guard', () => {
  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
      expect({ a, nonPublic: isNonPublicAddress(a).nonPublic }).toEqual({ a, nonPublic: true });
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888']) expect({ a, nonPublic: isNonPublicAddress(a).nonPublic }).toEqual({ a, nonPublic: false });
  });

  it('classifies every written form of IPv4-mapped, -compatible and -translated IPv6, NAT64, 6to4, Teredo and metadata addresses', () => {
    const nonPublic = [
      // loopback, in every spelling the URL parser or a resolver can produce
      '127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:7F00:0001', '0:0:0:0:0:ffff:7f00:1',
      '[::ffff:7f00:1]', '::ffff:0:7f00:1', '::127.0.0.1', '::7f00:1',
      // private, shared, link-local, unique-local, unspecified, multicast, reserved, benchmarking
      '10.0.0.1', '172.16.5.4', '192.168.0.1', '100.64.0.1', '169.254.1.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '240.0.0.1',
      '198.18.0.1', '192.0.2.1', '::', 'fe80::1', 'febf::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'fec0::1', '2001:db8::1', '100::1',
      '::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:c0a8:1', '::ffff:a9fe:a9fe',
      // NAT64 and 6to4 leading to non-public IPv4; local-use NAT64; Teredo; IETF protocol assignments
      '64:ff9b::7f00:1', '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '2002:a00:1::1', '2002:c0a8:101::', '64:ff9b:1::808:808',
      '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:10::1',
      // cloud metadata
      '169.254.169.254', '169.254.170.2', '168.63.129.16', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe',
      // not an address
      'localhost', '', '1.2.3', '::ffff:1.2.3.4.5',
    ];
    for (const a of nonPublic) expect({ a, public: classifyAddress(a).public }).toEqual({ a, public: false });
    const isPublic = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '2606:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '2002:808:808::1'];
    for (const a of isPublic) expect({ a, public: classifyAddress(a).public }).toEqual({ a, public: true });
    // Only true loopback counts as loopback (for plain http in development).
    for (const a of ['127.0.0.1', '::1', '::ffff:7f00:1']) expect({ a, loopback: classifyAddress(a).loopback }).toEqual({ a, loopback: true });
    for (const a of ['64:ff9b::7f00:1', '2002:7f00:1::', '::127.0.0.1', '10.0.0.1']) expect({ a, loopback: classifyAddress(a).loopback }).toEqual({ a, loopback: false });
  });

  it.each([
    'https://[::ffff:7f00:1]:4443/', 'https://[::ffff:127.0.0.1]/', 'https://[::127.0.0.1]/', 'https://[64:ff9b::7f00:1]/', 'https://[2002:7f00:1::]/',
    'https://[fd00:ec2::254]/latest', 'https://169.254.169.254/latest', 'https://0x7f.1/', 'https://2130706433/', 'https://0177.0.0.1/', 'https://127.1/',
    'https://[::ffff:a9fe:a9fe]/', 'https://100.100.100.200/', 'https://[fe80::1]/',
  ])('refuses %s in production before connecting', (url) => {
    expect(() => checkUrl(new URL(url), null, prod)).toThrow(OutboundRefused);
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
      } else setTimeout(() => res.end('late'), 30_000).unref();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A generous time limit where the answer is not about time (a loaded machine must not turn 'too big' into 'timed
    // out'); a short one against a server that answers far later.
    const opts = { headers: {}, timeoutMs: 10_000, maxBytes: 1000, policy: dev, allowedOrigins: null };
    try {
      expect((await guardedGet(new URL(`${base}/redirect`), opts)).status).toBe(302);
      await expect(guardedGet(new URL(`${base}/big`), opts)).rejects.toThrow(/over 1000 bytes/);
      await expect(guardedGet(new URL(`${base}/slow`), { ...opts, timeoutMs: 300 })).rejects.toThrow(/timed out/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
