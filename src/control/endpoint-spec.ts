/**
 * The full connection spec of an endpoint, password included, for the code that opens
 * connections (TestConnection, DescribeSchemas, task start). It is internal: it crosses the
 * instance protocol but never reaches a response, a log line or an event.
 */
import type { App } from './app.js';
import type { EndpointConnectionSpec } from '../engine/contracts.js';
import { engineInfo, type EngineSettings } from '../model/endpoint-settings.js';
import { notFound } from '../model/faults.js';
import type { EndpointRecord } from '../store/index.js';

/** Builds the spec from a stored endpoint and its password. */
export function specOf(endpoint: EndpointRecord, password: string | undefined): EndpointConnectionSpec {
  const engine = engineInfo(endpoint.EngineName);
  const settings = { ...((endpoint[engine.settingsMember] as EngineSettings | undefined) ?? {}) };
  const eca = endpoint.ExtraConnectionAttributes as string | undefined;
  return {
    endpointArn: endpoint.EndpointArn,
    endpointIdentifier: endpoint.EndpointIdentifier,
    endpointType: endpoint.EndpointType.toLowerCase() === 'target' ? 'target' : 'source',
    engineName: engine.engineName,
    serverName: String(endpoint.ServerName ?? ''),
    port: Number(endpoint.Port ?? engine.defaultPort),
    ...(endpoint.DatabaseName !== undefined ? { databaseName: String(endpoint.DatabaseName) } : {}),
    ...(endpoint.Username !== undefined ? { username: String(endpoint.Username) } : {}),
    ...(password !== undefined ? { password } : {}),
    sslMode: (endpoint.SslMode as EndpointConnectionSpec['sslMode'] | undefined) ?? 'none',
    ...(eca ? { extraConnectionAttributes: eca } : {}),
    settings,
  };
}

/** The spec of a stored endpoint with the password the store keeps for it (never in the document). */
export function storedSpecOf(app: App, endpoint: EndpointRecord): EndpointConnectionSpec {
  return specOf(endpoint, app.store.endpoints.password(endpoint.EndpointArn));
}

/**
 * `endpointConnectionSpec(app, arn)`: the endpoint's connection spec with its stored password.
 * Throws ResourceNotFoundFault when no such endpoint exists.
 */
export function endpointConnectionSpec(app: App, endpointArn: string): EndpointConnectionSpec {
  const endpoint = app.store.endpoints.get(endpointArn);
  if (!endpoint) throw notFound(`Endpoint ${endpointArn} not found. Check the ARN with DescribeEndpoints.`);
  return storedSpecOf(app, endpoint);
}
