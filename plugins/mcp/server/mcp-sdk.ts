// What the HTTP sessions take from the SDK, in one module that load-sdk.ts imports on first use.
export { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export { createMcpServer } from './create-mcp-server.ts';
