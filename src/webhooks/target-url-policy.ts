import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** One address a target host resolved to, as `dns.lookup` reports it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (`dns.lookup` with `all: true` in production). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface TargetUrlPolicyOptions {
  /** Lets tests and local development send to http://127.0.0.1, http://[::1] and http://localhost. */
  allowLoopbackHttp?: boolean;
  resolve?: HostResolver;
}

export type TargetUrlRejection =
  'invalid-url' | 'scheme-not-allowed' | 'credentials-in-url' | 'unresolvable-host' | 'address-not-allowed';

/**
 * A target the sender may connect to: the parsed URL and the addresses that were checked. The sender
 * connects to these addresses and never resolves the host again, so a DNS answer that changes between
 * the check and the connection (DNS rebinding) cannot steer a delivery to an internal address.
 */
export type TargetUrlDecision =
  | { ok: true; url: URL; addresses: ResolvedAddress[] }
  | { ok: false; reason: TargetUrlRejection; message: string };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

// Both are link-local or unique-local and refused as such; named so the message says what was hit.
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254']);

export const resolveWithDns: HostResolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export async function checkTargetUrl(
  rawUrl: string,
  options: TargetUrlPolicyOptions = {},
): Promise<TargetUrlDecision> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return reject('invalid-url', 'The webhook URL is not an absolute URL.');
  }
  if (url.username !== '' || url.password !== '') {
    return reject('credentials-in-url', 'The webhook URL must not carry a user name or password.');
  }
  const host = unbracket(url.hostname);
  const loopbackAllowed = options.allowLoopbackHttp === true && LOOPBACK_HOSTS.has(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackAllowed)) {
    return reject('scheme-not-allowed', 'The webhook URL must use https.');
  }

  let addresses: ResolvedAddress[];
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? resolveWithDns)(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      return reject('unresolvable-host', `The host ${host} of the webhook URL does not resolve.`);
    }
  }

  // Every answer must pass: the connection may use any of them (happy eyeballs tries several).
  for (const { address } of addresses) {
    const refusal = refuseAddress(address, loopbackAllowed);
    if (refusal) return reject('address-not-allowed', `The webhook URL points at ${refusal} (${address}).`);
  }
  return { ok: true, url, addresses };
}

/**
 * Names why an address is refused, or returns null for a public unicast address. Anything ipaddr.js
 * does not classify as plain `unicast` is refused (private, loopback, link-local, CGNAT, multicast,
 * unspecified, documentation, NAT64 and 6to4 prefixes that embed an IPv4 address, ...): an allowlist of
 * one range is harder to get wrong than a list of the ranges to block.
 */
export function refuseAddress(address: string, allowLoopback = false): string | null {
  if (!ipaddr.isValid(address)) return 'an address that does not parse';
  let parsed = ipaddr.parse(address);
  // ::ffff:127.0.0.1 reaches 127.0.0.1 on a dual-stack socket: judge the IPv4 address inside it.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  // IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291) is `unicast` to ipaddr.js, yet a stack that
  // still honours it reaches the IPv4 address inside: refused whatever that address is (:: and ::1 excepted,
  // judged below as unspecified and loopback).
  if (parsed.kind() === 'ipv6' && isIpv4Compatible(parsed as ipaddr.IPv6)) {
    return 'an IPv4-compatible IPv6 address';
  }
  const normalized = parsed.toNormalizedString();
  if (METADATA_ADDRESSES.has(normalized) || METADATA_ADDRESSES.has(parsed.toString())) {
    return 'a cloud metadata address';
  }
  const range = parsed.range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && allowLoopback) return null;
  return `a ${range} address`;
}

function isIpv4Compatible(address: ipaddr.IPv6): boolean {
  const parts = address.parts;
  return parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7]! > 1);
}

function reject(reason: TargetUrlRejection, message: string): TargetUrlDecision {
  return { ok: false, reason, message };
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
