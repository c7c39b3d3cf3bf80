import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Agent, Dispatcher, RequestInit, Response } from 'undici';
import { checkedConnector, type CheckedAddress } from './checked-connector.ts';
import { undici } from './undici.ts';
import { outboundRefusal, refusalDetail } from './outbound-refusal.ts';
import { mergeRules, normalizeHost, type OutboundRules } from './outbound-rules.ts';
import { errorMessage } from '../internal/error-message.ts';
import { isPublicAddress } from './public-address.ts';
import type { SelfAddresses } from './self-addresses.ts';
import { withTraceHeaders } from '../telemetry/spans.ts';

/** Resolves a host name to its addresses (DNS by default; tests inject their own). */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

/** `fetch` options through the policy (its own dispatcher is always used). */
export type OutboundFetchInit = Omit<RequestInit, 'dispatcher'>;

/**
 * The outbound policy: the one way the server reaches a network target that a task or a client
 * named (a REST call, a webhook, a push notification, any executor's connection). Loopback,
 * private, link-local and other non-public addresses are refused unless allowed; every
 * connection is checked when it is opened, on the very addresses it connects to.
 */
export interface Outbound {
  /** The rules in force (config `outbound`, plus the aliases this view was made `with`). */
  readonly rules: OutboundRules;
  /**
   * Why `url` may not be called, as a phrase that follows the URL ("is refused: 127.0.0.1 is
   * not a public address (…)", "must use http or https"), or null when it may. Resolves the
   * name now, for an early clear answer; the connection itself is checked again.
   *
   * With `resolve: false` no name is looked up: only what can be judged without DNS is refused
   * (the URL's form, literal addresses, `localhost` names, `deny_hosts`), for a target stored
   * now and called later (an A2A push URL), whose name may not resolve from here yet.
   */
  check(url: string | URL, options?: { resolve?: boolean }): Promise<string | null>;
  /**
   * Resolves `host` for a connection to `port` and checks every answer; resolves with the
   * addresses to connect to (connect to one of these, never to the name again: its next answer
   * may differ). Rejects with APF_FORBIDDEN ("host:port is refused: …") when refused. For
   * non-HTTP clients (WebSocket, gRPC, SSH); pass the name as TLS `servername`.
   */
  checkHost(host: string, port: number): Promise<CheckedAddress[]>;
  /** `fetch` (undici's) whose every connection, redirects included, is checked. */
  fetch(input: string | URL, init?: OutboundFetchInit): Promise<Response>;
  /** The undici dispatcher that checks connections (for undici clients other than `fetch`). */
  readonly dispatcher: Dispatcher;
  /** This policy with more allowances (a plugin's own `allow_private`/`allow_hosts`/`deny_hosts`). */
  with(extra: Partial<OutboundRules>): Outbound;
}

/** The policy with what only its owner (the app) does: close its connections. */
export interface OutboundRoot extends Outbound {
  close(): Promise<void>;
}

const hint = '(allow it with outbound.allow_hosts or outbound.allow_private)';
const LOCALHOST = /(^|\.)localhost$/;
const LOOPBACK: readonly CheckedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** Builds the outbound policy of one app. */
export function createOutbound(options: {
  rules: OutboundRules;
  self: SelfAddresses;
  resolve?: Resolver;
}): OutboundRoot {
  const { self } = options;
  const resolveName: Resolver = options.resolve ?? ((host) => lookup(host, { all: true }));
  const views = new Map<string, Outbound & { close(): Promise<void> }>();

  const resolveHost = async (host: string): Promise<CheckedAddress[]> => {
    const family = isIP(host);
    if (family === 4 || family === 6) return [{ address: host, family }];
    // `localhost` names are loopback by definition (RFC 6761 §6.3): no resolver is asked.
    if (LOCALHOST.test(host)) return LOOPBACK.map((entry) => ({ ...entry }));
    let answers: readonly { address: string; family: number }[];
    try {
      answers = await resolveName(host);
    } catch (error) {
      const code = codeOf(error) ?? errorMessage(error);
      throw Object.assign(new Error(`${host} does not resolve (${code})`), { code });
    }
    if (!answers.length) throw Object.assign(new Error(`${host} does not resolve`), { code: 'ENOTFOUND' });
    return answers.map((answer) => {
      const address = normalizeHost(answer.address);
      return { address, family: isIP(address) === 6 ? 6 : 4 };
    });
  };

  const view = (rules: OutboundRules): Outbound & { close(): Promise<void> } => {
    const admit = async (rawHost: string, port: number, target: string): Promise<CheckedAddress[]> => {
      const host = normalizeHost(rawHost);
      if (rules.deny_hosts.includes(host)) throw outboundRefusal(target, `${host} is on outbound.deny_hosts`);
      const addresses = await resolveHost(host);
      const named = (address: string) => (address === host ? address : `${host} resolves to ${address}, which`);
      const denied = addresses.find((entry) => rules.deny_hosts.includes(entry.address));
      if (denied) throw outboundRefusal(target, `${named(denied.address)} is on outbound.deny_hosts`);
      if (rules.allow_private || rules.allow_hosts.includes(host) || self.has(host, port)) return addresses;
      const inner = addresses.find(
        ({ address }) => !isPublicAddress(address) && !rules.allow_hosts.includes(address) && !self.has(address, port),
      );
      if (inner) throw outboundRefusal(target, `${named(inner.address)} is not a public address ${hint}`);
      return addresses;
    };
    let agent: Agent | undefined;
    const dispatcher = () => (agent ??= new (undici().Agent)({ connect: checkedConnector(admit) }));
    return {
      rules,
      async check(url, checkOptions = {}) {
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          return 'is not a valid URL';
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must use http or https';
        if (parsed.username || parsed.password) return 'must not carry credentials (use authentication or token)';
        const port = Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80);
        const host = normalizeHost(parsed.hostname);
        // Literal addresses and `localhost` names are judged without DNS (see resolveHost).
        if (checkOptions.resolve === false && !isIP(host) && !LOCALHOST.test(host)) {
          return rules.deny_hosts.includes(host) ? `is refused: ${host} is on outbound.deny_hosts` : null;
        }
        try {
          await admit(parsed.hostname, port, parsed.origin);
          return null;
        } catch (error) {
          const refused = refusalDetail(error);
          return refused
            ? `is refused: ${refused.reason}`
            : `has a host that does not resolve (${normalizeHost(parsed.hostname)})`;
        }
      },
      checkHost: (host, port) =>
        admit(host, port, `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`),
      fetch: (input, init = {}) =>
        undici().fetch(input, { ...init, headers: withTraceHeaders(init.headers), dispatcher: dispatcher() }),
      get dispatcher() {
        return dispatcher();
      },
      with(extra) {
        const merged = mergeRules(rules, extra);
        const key = JSON.stringify(merged);
        let found = views.get(key);
        if (!found) views.set(key, (found = view(merged)));
        return found;
      },
      // At release every run and delivery has ended: anything still open is dropped, not awaited.
      close: async () => {
        await agent?.destroy().catch(() => undefined);
      },
    };
  };

  const root = view(mergeRules(options.rules));
  const closeRoot = root.close;
  root.close = async () => {
    await Promise.all([closeRoot(), ...[...views.values()].map((entry) => entry.close())]);
  };
  return root;
}

/** The `code` a failed lookup carries (`ENOTFOUND`, …), if any. */
function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}
