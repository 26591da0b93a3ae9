import {
  checkTargetUrl,
  type HostResolver,
  type ResolvedAddress,
} from '../../src/webhooks/target-url-policy';

// No real DNS in tests: every host name resolves through this table.
const resolverFor =
  (table: Record<string, ResolvedAddress[]>): HostResolver =>
  (hostname) =>
    Promise.resolve(table[hostname] ?? []);
const publicResolver = resolverFor({ 'hooks.example.com': [{ address: '93.184.215.14', family: 4 }] });

describe('the webhook target URL policy', () => {
  it('when the URL is https and the host resolves to a public address, then it is accepted with that address', async () => {
    const decision = await checkTargetUrl('https://hooks.example.com/in', { resolve: publicResolver });

    expect(decision).toMatchObject({ ok: true, addresses: [{ address: '93.184.215.14', family: 4 }] });
  });

  it('when the URL is plain http, then it is refused', async () => {
    const decision = await checkTargetUrl('http://hooks.example.com/in', { resolve: publicResolver });

    expect(decision).toMatchObject({ ok: false, reason: 'scheme-not-allowed' });
  });

  it('when the URL carries credentials, then it is refused', async () => {
    const decision = await checkTargetUrl('https://user:pw@hooks.example.com/in', {
      resolve: publicResolver,
    });

    expect(decision).toMatchObject({ ok: false, reason: 'credentials-in-url' });
  });

  it.each([
    ['a private address', 'https://10.0.0.1/in'],
    ['loopback', 'https://127.0.0.1/in'],
    ['loopback written in hex', 'https://0x7f.1/in'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data'],
    ['the IPv6 cloud metadata address', 'https://[fd00:ec2::254]/'],
    ['an IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/in'],
    ['CGNAT', 'https://100.64.0.1/in'],
    ['multicast', 'https://224.0.0.1/in'],
    ['the unspecified address', 'https://0.0.0.0/in'],
    ['IPv6 link-local', 'https://[fe80::1]/in'],
    ['IPv6 loopback', 'https://[::1]/in'],
    ['NAT64 of a private address', 'https://[64:ff9b::a00:1]/in'],
    // IPv4-compatible IPv6 (::/96, deprecated by RFC 4291): ipaddr.js calls these plain unicast.
    ['the metadata address, IPv4-compatible', 'https://[::a9fe:a9fe]/latest'],
    ['loopback, IPv4-compatible in dotted form', 'https://[::127.0.0.1]/in'],
    ['loopback, IPv4-compatible in hex', 'https://[::7f00:1]/in'],
    ['a private address, IPv4-compatible', 'https://[::a00:1]/in'],
    ['a public address, IPv4-compatible (a deprecated form no receiver needs)', 'https://[::808:808]/in'],
  ])('when the host is %s, then it is refused', async (_name, url) => {
    const decision = await checkTargetUrl(url, { resolve: publicResolver });

    expect(decision).toMatchObject({ ok: false, reason: 'address-not-allowed' });
  });

  it('when a host name resolves to a private address, then it is refused', async () => {
    const resolve = resolverFor({ 'internal.example.com': [{ address: '192.168.1.20', family: 4 }] });

    const decision = await checkTargetUrl('https://internal.example.com/in', { resolve });

    expect(decision).toMatchObject({ ok: false, reason: 'address-not-allowed' });
  });

  it('when a host name resolves to a public and a private address, then it is refused', async () => {
    const resolve = resolverFor({
      'mixed.example.com': [
        { address: '93.184.215.14', family: 4 },
        { address: 'fd12::1', family: 6 },
      ],
    });

    const decision = await checkTargetUrl('https://mixed.example.com/in', { resolve });

    expect(decision).toMatchObject({ ok: false, reason: 'address-not-allowed' });
  });

  it('when a host name does not resolve, then it is refused', async () => {
    const decision = await checkTargetUrl('https://nowhere.example.com/in', { resolve: publicResolver });

    expect(decision).toMatchObject({ ok: false, reason: 'unresolvable-host' });
  });

  it('when loopback http is allowed, then http://127.0.0.1 and http://localhost pass but other http hosts do not', async () => {
    const resolve = resolverFor({ localhost: [{ address: '127.0.0.1', family: 4 }] });
    const options = { allowLoopbackHttp: true, resolve };

    expect(await checkTargetUrl('http://127.0.0.1:8080/in', options)).toMatchObject({ ok: true });
    expect(await checkTargetUrl('http://localhost:8080/in', options)).toMatchObject({ ok: true });
    expect(await checkTargetUrl('http://[::1]:8080/in', options)).toMatchObject({ ok: true });
    expect(await checkTargetUrl('http://10.0.0.1/in', options)).toMatchObject({
      ok: false,
      reason: 'scheme-not-allowed',
    });
  });

  it('when loopback http is allowed and localhost resolves elsewhere, then it is refused', async () => {
    const resolve = resolverFor({ localhost: [{ address: '10.1.2.3', family: 4 }] });

    const decision = await checkTargetUrl('http://localhost:8080/in', { allowLoopbackHttp: true, resolve });

    expect(decision).toMatchObject({ ok: false, reason: 'address-not-allowed' });
  });
});
