/**
 * The little of oidc-provider (a test dependency that ships no types) the tests use: a provider
 * built from its issuer and configuration, whose callback serves node's HTTP requests.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
  }
}
