import { isIP } from 'node:net';
import { ApflowError, isApflowError, refusalDetail, type CheckedAddress, type Outbound } from 'apflow';
import { errorText } from './error-text.ts';
import type { ChannelCredentials, ChannelOptions, Client } from '@grpc/grpc-js';
import { ID } from './executor-id.ts';
import type { GrpcLibs } from './grpc-libs.ts';
import { openRelay, type Relay } from './relay.ts';

/** The `tls` input: `true` (system roots) or PEM texts and checks. */
export type TlsInput =
  | boolean
  | {
      ca?: string;
      cert?: string;
      key?: string;
      server_name?: string;
      insecure_skip_verify?: boolean;
    };

const SERVER = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+))(?::(\d{1,5}))?$/;

/** `host:port` (or `[v6]:port`; the port defaults to 443 with TLS) split into its parts. */
export function parseServer(server: string, tls: boolean): { host: string; port: number } {
  const match = SERVER.exec(server.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? (tls ? 443 : undefined) : Number(match[3]);
  if (!host || port === undefined || port < 1 || port > 65535) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: server must be "host:port" (e.g. "api.example.com:50051", "[2001:db8::1]:443"), got "${server}"`,
    });
  }
  return { host, port };
}

/** A client of the task's server, and what ends it. */
export interface OpenClient {
  client: Client;
  /** `host:port` as the task named it (the `:authority`). */
  authority: string;
  relay: Relay;
  /** Closes the channel and destroys every socket of the call. */
  close(): void;
}

/**
 * A client for `server`, through the outbound policy: the host is checked and resolved there
 * (bounded by `signal`), and the channel reaches the checked address only, through a relay the
 * executor owns (see {@link openRelay}). The name stays the `:authority` and, with TLS, the name
 * the certificate must match. Messages over `maxBytes` are refused by grpc-js as they arrive.
 */
export async function openClient(
  libs: GrpcLibs,
  outbound: Outbound,
  server: string,
  tls: TlsInput = false,
  limits: { maxBytes: number; signal: AbortSignal },
): Promise<OpenClient> {
  const { host, port } = parseServer(server, tls !== false);
  const channelCredentials = credentials(libs, tls);
  const [address] = await checkedAddresses(outbound, host, port, limits.signal);
  const named = isIP(host) === 6 ? `[${host}]` : host;
  const relay = await openRelay(address.address, port);
  const options: ChannelOptions = {
    'grpc.default_authority': `${named}:${port}`,
    'grpc.use_local_subchannel_pool': 1,
    // A failed call is the task's to retry (params.retries), not the channel's.
    'grpc.enable_retries': 0,
    // Straight to the relay: no proxy from the environment (grpc_proxy, https_proxy).
    'grpc.enable_http_proxy': 0,
    'grpc.max_receive_message_length': limits.maxBytes,
  };
  // The channel's target is the relay: the name to check (and send as SNI) is always given.
  const serverName = typeof tls === 'object' && tls.server_name ? tls.server_name : host;
  if (tls !== false) options['grpc.ssl_target_name_override'] = serverName;
  const client: Client = new libs.grpc.Client(relay.target, channelCredentials, options);
  return {
    client,
    authority: `${named}:${port}`,
    relay,
    close() {
      client.close();
      relay.close();
    },
  };
}

/** The checked addresses of `host` (a refusal is APF_FORBIDDEN); an abort of `signal` ends the wait. */
async function checkedAddresses(
  outbound: Outbound,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<[CheckedAddress, ...CheckedAddress[]]> {
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    signal.throwIfAborted();
    const addresses = await Promise.race([outbound.checkHost(host, port), aborted]);
    // checkHost never answers no address: a host that resolves to none is refused.
    return addresses as [CheckedAddress, ...CheckedAddress[]];
  } catch (error) {
    if (signal.aborted) throw error;
    const refused = refusalDetail(error);
    if (refused) {
      throw new ApflowError('APF_FORBIDDEN', { message: `${ID}: ${refused.target} is refused: ${refused.reason}` });
    }
    if (isApflowError(error)) throw error;
    throw new ApflowError('APF_UNAVAILABLE', { message: `${ID}: ${errorText(error)}` });
  } finally {
    signal.removeEventListener('abort', onAbort);
    aborted.catch(() => undefined);
  }
}

function credentials(libs: GrpcLibs, tls: TlsInput): ChannelCredentials {
  const { credentials: make } = libs.grpc;
  if (tls === false) return make.createInsecure();
  if (tls === true) return make.createSsl();
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: tls.cert and tls.key go together (a client certificate and its private key, PEM)`,
    });
  }
  const pem = (text: string | undefined) => (text ? Buffer.from(text) : null);
  const skip = tls.insecure_skip_verify === true;
  try {
    return make.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert), {
      ...(skip ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {}),
    });
  } catch (error) {
    // The message of a bad key could quote it: only its kind is named.
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: tls.ca, tls.cert or tls.key is not valid PEM (${error instanceof Error ? error.name : 'error'})`,
    });
  }
}
