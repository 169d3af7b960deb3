/**
 * Endpoints: CreateEndpoint, DescribeEndpoints, ModifyEndpoint, DeleteEndpoint, and the catalog
 * operations DescribeEndpointTypes, DescribeEndpointSettings (spec §1.1, §1.4, §9); the schema
 * operations are in ./schemas.ts.
 *
 * The stored document is the Endpoint as the API returns it, with EndpointType kept lower-case
 * (as the API accepts it) and upper-cased on the way out, as AWS answers (`"EndpointType": "SOURCE"`).
 * The password lives in the store's password column only: taken from Password or from
 * PostgreSQLSettings/MySQLSettings.Password, stripped from the stored settings, never returned.
 */
import type {
  CreateEndpointMessage,
  DeleteEndpointMessage,
  DescribeEndpointSettingsMessage,
  DescribeEndpointTypesMessage,
  DescribeEndpointsMessage,
  ModifyEndpointMessage,
} from '@aws-sdk/client-database-migration-service';
import {
  attributesToSettings,
  checkSettingsMember,
  CONNECTION_MEMBERS,
  describeSettings,
  engineInfo,
  ENGINES,
  type EngineInfo,
  type EngineSettings,
} from '../../model/endpoint-settings.js';
import { alreadyExists, invalidParameter, invalidState, notFound, quotaExceeded } from '../../model/faults.js';
import { checkIdentifier, checkResourceIdentifier } from '../../model/identifiers.js';
import { checkTags } from '../../model/tags.js';
import type { EndpointRecord } from '../../store/index.js';
import { applyFilters, type Filter } from '../filters.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { paginate } from '../pagination.js';
import { requireEndpoint } from './lookups.js';
import { schemaOperations } from './schemas.js';

/** Engine settings members of the model other than ours: refused, since opendms has no such engines. */
const FOREIGN_SETTINGS = [
  'DynamoDbSettings',
  'S3Settings',
  'DmsTransferSettings',
  'MongoDbSettings',
  'KinesisSettings',
  'KafkaSettings',
  'ElasticsearchSettings',
  'NeptuneSettings',
  'RedshiftSettings',
  'OracleSettings',
  'SybaseSettings',
  'MicrosoftSQLServerSettings',
  'IBMDb2Settings',
  'DocDbSettings',
  'RedisSettings',
  'GcpMySQLSettings',
  'TimestreamSettings',
  'PostgreSQLSettings',
  'MySQLSettings',
] as const;

type EndpointInput = CreateEndpointMessage | ModifyEndpointMessage;

/** The endpoint as the API answers: EndpointType upper-case, as AWS returns it. */
export function presentEndpoint(e: EndpointRecord): EndpointRecord {
  return { ...e, EndpointType: e.EndpointType.toUpperCase() };
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Applies a Create/Modify input over the current endpoint (none on create): validates the engine
 * and its settings, merges extra connection attributes and settings (ExactSettings: replace
 * instead of merge), mirrors the connection fields into the settings as AWS does, and pulls the
 * password out. Returns the new document and the new password (undefined = unchanged).
 */
function applyInput(input: EndpointInput, current: EndpointRecord | undefined): { doc: EndpointRecord; password: string | undefined } {
  const engine = engineInfo(input.EngineName ?? current!.EngineName);
  const previous = current ? engineInfo(current.EngineName) : undefined;
  const familyChanged = previous !== undefined && previous.family !== engine.family;
  const exact = 'ExactSettings' in input && input.ExactSettings === true;

  const inputRecord = input as unknown as Record<string, unknown>;
  for (const member of FOREIGN_SETTINGS) {
    if (member !== engine.settingsMember && inputRecord[member] !== undefined) {
      throw invalidParameter(`Invalid parameter ${member}: it does not apply to EngineName ${engine.engineName}; use ${engine.settingsMember}.`);
    }
  }

  const given = { ...((inputRecord[engine.settingsMember] as EngineSettings | undefined) ?? {}) };
  const settingsPassword = given.Password as string | undefined;
  delete given.Password;
  checkSettingsMember(engine.family, engine.settingsMember, given);
  const fromAttributes = attributesToSettings(engine.family, input.ExtraConnectionAttributes);

  const keepOld = current !== undefined && !familyChanged && !exact;
  const base = keepOld ? { ...((current[previous!.settingsMember] as EngineSettings | undefined) ?? {}) } : {};
  const settings: EngineSettings = { ...base, ...fromAttributes, ...given };

  // Top-level fields win over the same members in the settings object; unset ones keep their value.
  const pick = (name: (typeof CONNECTION_MEMBERS)[number]): unknown =>
    (inputRecord[name] as unknown) ?? given[name] ?? current?.[name];
  let port = pick('Port') as number | undefined;
  if (familyChanged && inputRecord.Port === undefined && given.Port === undefined && port === previous!.defaultPort) port = undefined;
  port ??= engine.defaultPort;
  const connection = withoutUndefined({
    ServerName: pick('ServerName') as string | undefined,
    Port: port,
    DatabaseName: pick('DatabaseName') as string | undefined,
    Username: pick('Username') as string | undefined,
  });
  for (const m of CONNECTION_MEMBERS) delete settings[m];
  requireConnectionFields(engine, connection);

  if (input.CertificateArn) {
    throw notFound(
      `Certificate ${input.CertificateArn} not found: opendms has no certificate store. Omit CertificateArn; with SslMode verify-ca or verify-full the server certificate is checked against the system's trusted CAs.`,
    );
  }

  const eca = input.ExtraConnectionAttributes ?? (keepOld ? (current.ExtraConnectionAttributes as string | undefined) : undefined);
  const doc: EndpointRecord = withoutUndefined({
    EndpointIdentifier: input.EndpointIdentifier ?? current!.EndpointIdentifier,
    EndpointType: (input.EndpointType ?? current!.EndpointType).toLowerCase(),
    EngineName: engine.engineName,
    EngineDisplayName: engine.displayName,
    ...connection,
    ExtraConnectionAttributes: eca || undefined,
    Status: 'active',
    KmsKeyId: ('KmsKeyId' in input ? input.KmsKeyId : undefined) ?? current?.KmsKeyId,
    EndpointArn: current?.EndpointArn ?? '',
    SslMode: input.SslMode ?? current?.SslMode ?? 'none',
    ServiceAccessRoleArn: input.ServiceAccessRoleArn ?? current?.ServiceAccessRoleArn,
    [engine.settingsMember]: { ...connection, ...settings },
  });
  return { doc, password: input.Password ?? settingsPassword };
}

function requireConnectionFields(engine: EngineInfo, c: { ServerName?: string; DatabaseName?: string; Username?: string }): void {
  const missing: string[] = [];
  if (!c.ServerName) missing.push('ServerName');
  if (!c.Username) missing.push('Username');
  // A PostgreSQL connection is always to one database; MySQL endpoints may span databases.
  if (engine.family === 'postgres' && !c.DatabaseName) missing.push('DatabaseName');
  if (missing.length) {
    throw invalidParameter(`The parameter ${missing.join(', ')} must be provided for EngineName ${engine.engineName} endpoints.`);
  }
}

function checkIdentifierFree(ctx: RequestContext, identifier: string, exceptArn?: string): void {
  const clash = ctx.app.store.endpoints.findByIdentifier(identifier);
  if (clash && clash.EndpointArn !== exceptArn) {
    throw alreadyExists(`Endpoint with identifier ${identifier} already exists (${clash.EndpointArn}). Choose another EndpointIdentifier.`, clash.EndpointArn);
  }
}

export function createEndpoint(input: CreateEndpointMessage, ctx: RequestContext): { Endpoint: EndpointRecord } {
  const { app } = ctx;
  checkIdentifier('EndpointIdentifier', input.EndpointIdentifier!, 255);
  if (input.ResourceIdentifier !== undefined) checkResourceIdentifier(input.ResourceIdentifier);
  const tags = checkTags(input.Tags);
  const { doc, password } = applyInput(input, undefined);
  const arn = app.newArn('endpoint', input.ResourceIdentifier);
  doc.EndpointArn = arn;
  app.store.transaction(() => {
    checkIdentifierFree(ctx, doc.EndpointIdentifier);
    if (app.store.endpoints.get(arn)) throw alreadyExists(`An endpoint with ResourceIdentifier ${input.ResourceIdentifier} already exists (${arn}). Choose another ResourceIdentifier.`, arn);
    if (app.store.endpoints.count() >= app.config.quotas.Endpoints) {
      throw quotaExceeded(`The quota of ${app.config.quotas.Endpoints} endpoints is reached; delete endpoints you no longer need.`);
    }
    app.store.endpoints.insert(doc, password, new Date().toISOString());
    if (tags.length) app.store.tags.put(arn, tags);
  });
  ctx.log.info({ endpointArn: arn, engine: doc.EngineName, type: doc.EndpointType }, 'endpoint created');
  return { Endpoint: presentEndpoint(doc) };
}

export function describeEndpoints(input: DescribeEndpointsMessage, ctx: RequestContext): { Endpoints: EndpointRecord[]; Marker?: string } {
  const all = ctx.app.store.endpoints.list();
  const filtered = applyFilters(
    all,
    input.Filters as Filter[] | undefined,
    {
      'endpoint-arn': (e) => e.EndpointArn,
      'endpoint-type': (e) => e.EndpointType,
      'endpoint-id': (e) => e.EndpointIdentifier,
      'engine-name': (e) => e.EngineName,
    },
    ['endpoint-type', 'endpoint-id', 'engine-name'],
  );
  if (input.Filters?.length && filtered.length === 0) throw notFound('No Endpoints found matching provided filters');
  const page = paginate(filtered, input, 'DescribeEndpoints');
  return { Endpoints: page.items.map(presentEndpoint), ...(page.marker ? { Marker: page.marker } : {}) };
}

export function modifyEndpoint(input: ModifyEndpointMessage, ctx: RequestContext): { Endpoint: EndpointRecord } {
  const { app } = ctx;
  if (input.EndpointIdentifier !== undefined) checkIdentifier('EndpointIdentifier', input.EndpointIdentifier, 255);
  const doc = app.store.transaction(() => {
    const current = requireEndpoint(app, input.EndpointArn!);
    const { doc: next, password } = applyInput(input, current);
    if (next.EndpointIdentifier !== current.EndpointIdentifier) checkIdentifierFree(ctx, next.EndpointIdentifier, current.EndpointArn);
    // A task's source must stay a source of the engine family it was planned for.
    const retyped = next.EndpointType !== current.EndpointType.toLowerCase();
    const refamilied = engineInfo(next.EngineName).family !== engineInfo(current.EngineName).family;
    if (retyped || refamilied) {
      const users = app.store.tasks.countByEndpoint(current.EndpointArn);
      if (users > 0) {
        const what = retyped ? 'EndpointType' : 'engine family (EngineName)';
        throw invalidState(`Endpoint ${current.EndpointIdentifier} is used by ${users} replication task(s); its ${what} cannot change until they are deleted.`);
      }
    }
    // Running tasks keep the settings they started with and pick up the change at their next start.
    app.store.endpoints.update(next, password);
    return next;
  });
  ctx.log.info({ endpointArn: doc.EndpointArn }, 'endpoint modified');
  return { Endpoint: presentEndpoint(doc) };
}

export function deleteEndpoint(input: DeleteEndpointMessage, ctx: RequestContext): { Endpoint: EndpointRecord } {
  const { app } = ctx;
  const doc = app.store.transaction(() => {
    const current = requireEndpoint(app, input.EndpointArn!);
    const users = app.store.tasks.countByEndpoint(current.EndpointArn);
    if (users > 0) {
      throw invalidState(`Endpoint ${current.EndpointIdentifier} is used by ${users} replication task(s); delete those tasks first.`);
    }
    app.store.endpoints.delete(current.EndpointArn);
    app.store.connections.deleteFor(current.EndpointArn);
    app.store.tags.removeAll(current.EndpointArn);
    return current;
  });
  ctx.log.info({ endpointArn: doc.EndpointArn }, 'endpoint deleted');
  // Deletion is immediate; the answer says `deleting` as AWS's does, and the next Describe finds nothing.
  return { Endpoint: presentEndpoint({ ...doc, Status: 'deleting' }) };
}

export function describeEndpointTypes(input: DescribeEndpointTypesMessage): { SupportedEndpointTypes: unknown[]; Marker?: string } {
  const rows = ENGINES.flatMap((e) =>
    (['source', 'target'] as const).map((type) => ({ EngineName: e.engineName, SupportsCDC: true, EndpointType: type, EngineDisplayName: e.displayName })),
  );
  const filtered = applyFilters(rows, input.Filters as Filter[] | undefined, { 'engine-name': (r) => r.EngineName, 'endpoint-type': (r) => r.EndpointType }, [
    'engine-name',
    'endpoint-type',
  ]);
  const page = paginate(filtered, input, 'DescribeEndpointTypes');
  return { SupportedEndpointTypes: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

export function describeEndpointSettings(input: DescribeEndpointSettingsMessage): { EndpointSettings: unknown[]; Marker?: string } {
  const rows = describeSettings(engineInfo(input.EngineName!).family);
  const page = paginate(rows, input, `DescribeEndpointSettings:${input.EngineName!.toLowerCase()}`, { min: 1 });
  return { EndpointSettings: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

export const endpointOperations: OperationTable = {
  CreateEndpoint: createEndpoint,
  DescribeEndpoints: describeEndpoints,
  ModifyEndpoint: modifyEndpoint,
  DeleteEndpoint: deleteEndpoint,
  DescribeEndpointTypes: describeEndpointTypes,
  DescribeEndpointSettings: describeEndpointSettings,
  ...schemaOperations,
};
