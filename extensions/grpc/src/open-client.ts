import { isIP } from 'node:net';
import { ApflowError, isApflowError, refusalDetail, type CheckedAddress, type Outbound } from 'apflow';
import { errorText } from './error-text.ts';
import type { ChannelCredentials, ChannelOptions, Client } from '@grpc/grpc-js';
import type { GrpcLibs } from './grpc-libs.ts';

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

const ID = 'grpc_executor';
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

/**
 * A client for `server`, through the outbound policy: the host is checked and resolved there,
 * and the channel connects to the checked address, never to the name again. The name stays the
 * `:authority` and, with TLS, the name the certificate must match. Its own subchannel pool makes
 * `client.close()` close its connection.
 */
export async function openClient(libs: GrpcLibs, outbound: Outbound, server: string, tls: TlsInput = false) {
  const { host, port } = parseServer(server, tls !== false);
  let addresses: CheckedAddress[];
  try {
    addresses = await outbound.checkHost(host, port);
  } catch (error) {
    const refused = refusalDetail(error);
    if (refused) {
      throw new ApflowError('APF_FORBIDDEN', { message: `${ID}: ${refused.target} is refused: ${refused.reason}` });
    }
    if (isApflowError(error)) throw error;
    throw new ApflowError('APF_UNAVAILABLE', { message: `${ID}: ${errorText(error)}` });
  }
  // checkHost never answers no address: a host that resolves to none is refused.
  const [address] = addresses as [CheckedAddress];
  const named = isIP(host) === 6 ? `[${host}]` : host;
  const target = address.family === 6 ? `ipv6:[${address.address}]:${port}` : `ipv4:${address.address}:${port}`;
  const options: ChannelOptions = {
    'grpc.default_authority': `${named}:${port}`,
    'grpc.use_local_subchannel_pool': 1,
    // A failed call is the task's to retry (params.retries), not the channel's.
    'grpc.enable_retries': 0,
    // Straight to the checked address: no proxy from the environment (grpc_proxy, https_proxy).
    'grpc.enable_http_proxy': 0,
  };
  const serverName = typeof tls === 'object' && tls.server_name ? tls.server_name : isIP(host) ? undefined : host;
  if (tls !== false && serverName) options['grpc.ssl_target_name_override'] = serverName;
  const client: Client = new libs.grpc.Client(target, credentials(libs, tls), options);
  return { client, authority: `${named}:${port}` };
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
