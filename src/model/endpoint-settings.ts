/**
 * Endpoint engines and their settings: which engines opendms connects to, what each engine's
 * settings object (PostgreSQLSettings / MySQLSettings) may hold, and how extra connection
 * attributes (`key=value;key=value`, spec §9) map onto those settings.
 *
 * Pure: no I/O. The API handlers use it to validate and merge settings; the engine uses
 * `settingsWithDefaults` so the defaults live in one place (the same ones DescribeEndpointSettings
 * reports).
 */
import { invalidParameter } from './faults.js';

export type EngineFamily = 'postgres' | 'mysql';
export type SettingsMember = 'PostgreSQLSettings' | 'MySQLSettings';

export interface EngineInfo {
  engineName: string;
  family: EngineFamily;
  displayName: string;
  defaultPort: number;
  /** The Endpoint member that carries this family's settings. */
  settingsMember: SettingsMember;
}

const FAMILY: Record<EngineFamily, { defaultPort: number; settingsMember: SettingsMember }> = {
  postgres: { defaultPort: 5432, settingsMember: 'PostgreSQLSettings' },
  mysql: { defaultPort: 3306, settingsMember: 'MySQLSettings' },
};

function engine(engineName: string, family: EngineFamily, displayName: string): EngineInfo {
  return { engineName, family, displayName, ...FAMILY[family] };
}

/** The engines opendms supports, by EngineName (display names as AWS shows them). */
export const ENGINES: readonly EngineInfo[] = [
  engine('postgres', 'postgres', 'PostgreSQL'),
  engine('aurora-postgresql', 'postgres', 'Amazon Aurora PostgreSQL'),
  engine('mysql', 'mysql', 'MySQL'),
  engine('mariadb', 'mysql', 'MariaDB'),
  engine('aurora', 'mysql', 'Amazon Aurora MySQL'),
];

/** The engine for an EngineName (case-insensitive), or IPV naming the supported ones. */
export function engineInfo(engineName: string): EngineInfo {
  const found = ENGINES.find((e) => e.engineName === engineName.toLowerCase());
  if (!found) {
    throw invalidParameter(
      `Invalid value for parameter EngineName: "${engineName}" is not supported by opendms. Supported engines: ${ENGINES.map((e) => e.engineName).join(', ')}.`,
    );
  }
  return found;
}

export type SettingType = 'string' | 'boolean' | 'integer' | 'enum';
export type Applicability = 'source' | 'target' | 'source-target';

/** One setting: its member name in the settings object and its extra-connection-attribute name. */
export interface SettingDef {
  /** Member name in PostgreSQLSettings / MySQLSettings; undefined for attributes that exist only as ECA. */
  member?: string;
  /** Extra connection attribute name (matched case-insensitively). */
  eca: string;
  type: SettingType;
  enumValues?: string[];
  /** The value opendms uses when the setting is not given. */
  defaultValue?: string | number | boolean;
  units?: string;
  min?: number;
  max?: number;
  applicability: Applicability;
  /** Values of an enum the model allows but opendms cannot honour, with the reason. */
  refused?: Record<string, string>;
}

const s = (member: string, eca: string, type: SettingType, applicability: Applicability, extra: Partial<SettingDef> = {}): SettingDef => ({
  member,
  eca,
  type,
  applicability,
  ...extra,
});

const POSTGRES_SETTINGS: SettingDef[] = [
  s('AfterConnectScript', 'afterConnectScript', 'string', 'source-target'),
  s('CaptureDdls', 'captureDDLs', 'boolean', 'source', { defaultValue: true }),
  s('DdlArtifactsSchema', 'ddlArtifactsSchema', 'string', 'source', { defaultValue: 'public' }),
  s('ExecuteTimeout', 'executeTimeout', 'integer', 'source-target', { defaultValue: 60, units: 'seconds', min: 1 }),
  s('FailTasksOnLobTruncation', 'failTasksOnLobTruncation', 'boolean', 'source', { defaultValue: false }),
  // AWS defaults heartbeats off; opendms turns them on so an idle or filtered source never pins WAL (issue 4 §8).
  s('HeartbeatEnable', 'heartbeatEnable', 'boolean', 'source', { defaultValue: true }),
  s('HeartbeatFrequency', 'heartbeatFrequency', 'integer', 'source', { defaultValue: 5, units: 'minutes', min: 1 }),
  s('HeartbeatSchema', 'heartbeatSchema', 'string', 'source', { defaultValue: 'public' }),
  s('MaxFileSize', 'maxFileSize', 'integer', 'target', { defaultValue: 32768, units: 'KB', min: 1, max: 1048576 }),
  s('PluginName', 'pluginName', 'enum', 'source', {
    enumValues: ['no-preference', 'pgoutput'],
    defaultValue: 'pgoutput',
    refused: {
      'test-decoding': 'opendms decodes changes with pgoutput; use no-preference or pgoutput',
      pglogical: 'opendms decodes changes with pgoutput; use no-preference or pgoutput',
    },
  }),
  s('SlotName', 'slotName', 'string', 'source'),
  s('TrimSpaceInChar', 'trimSpaceInChar', 'boolean', 'source', { defaultValue: true }),
  s('MapBooleanAsBoolean', 'mapBooleanAsBoolean', 'boolean', 'source', { defaultValue: false }),
  s('MapJsonbAsClob', 'mapJsonbAsClob', 'boolean', 'source', { defaultValue: false }),
  s('MapLongVarcharAs', 'mapLongVarcharAs', 'enum', 'source', { enumValues: ['wstring', 'clob', 'nclob'], defaultValue: 'wstring' }),
  s('DisableUnicodeSourceFilter', 'disableUnicodeSourceFilter', 'boolean', 'source', { defaultValue: false }),
  s('DatabaseMode', 'databaseMode', 'enum', 'source-target', {
    enumValues: ['default'],
    defaultValue: 'default',
    refused: { babelfish: 'Babelfish endpoints are not supported by opendms' },
  }),
  s('AuthenticationMethod', 'authenticationMethod', 'enum', 'source-target', {
    enumValues: ['password'],
    defaultValue: 'password',
    refused: { iam: 'IAM authentication is not available outside AWS; give Username and Password' },
  }),
];

const MYSQL_SETTINGS: SettingDef[] = [
  s('AfterConnectScript', 'afterConnectScript', 'string', 'source-target'),
  s('CleanSourceMetadataOnMismatch', 'cleanSrcMetadataOnMismatch', 'boolean', 'source', { defaultValue: false }),
  s('EventsPollInterval', 'eventsPollInterval', 'integer', 'source', { defaultValue: 5, units: 'seconds', min: 1 }),
  s('ExecuteTimeout', 'executeTimeout', 'integer', 'source-target', { defaultValue: 60, units: 'seconds', min: 1 }),
  s('MaxFileSize', 'maxFileSize', 'integer', 'target', { defaultValue: 32768, units: 'KB', min: 1, max: 1048576 }),
  s('ParallelLoadThreads', 'parallelLoadThreads', 'integer', 'target', { defaultValue: 1, min: 1, max: 32 }),
  s('ServerTimezone', 'serverTimezone', 'string', 'source'),
  s('TargetDbType', 'targetDbType', 'enum', 'target', { enumValues: ['specific-database', 'multiple-databases'], defaultValue: 'multiple-databases' }),
  s('AuthenticationMethod', 'authenticationMethod', 'enum', 'source-target', {
    enumValues: ['password'],
    defaultValue: 'password',
    refused: { iam: 'IAM authentication is not available outside AWS; give Username and Password' },
  }),
  // Attributes AWS documents only as extra connection attributes (spec §9.2).
  { eca: 'initstmt', type: 'string', applicability: 'target' },
  { eca: 'skipTableSuspensionForPartitionDdl', type: 'boolean', applicability: 'source', defaultValue: false },
  { eca: 'IgnoreOpenXaTransactionsCheck', type: 'boolean', applicability: 'source', defaultValue: false },
];

const SETTINGS: Record<EngineFamily, SettingDef[]> = { postgres: POSTGRES_SETTINGS, mysql: MYSQL_SETTINGS };

/** Members of the settings objects that mirror the endpoint's connection fields (AWS echoes them there). */
export const CONNECTION_MEMBERS = ['ServerName', 'Port', 'DatabaseName', 'Username'] as const;

/** Members refused for every engine: they point at AWS services opendms does not have. */
const AWS_ONLY_MEMBERS: Record<string, string> = {
  SecretsManagerSecretId: 'AWS Secrets Manager is not available; give Username and Password',
  SecretsManagerAccessRoleArn: 'AWS Secrets Manager is not available; give Username and Password',
  BabelfishDatabaseName: 'Babelfish endpoints are not supported by opendms',
};

export function settingDefs(family: EngineFamily): readonly SettingDef[] {
  return SETTINGS[family];
}

export type EngineSettings = Record<string, unknown>;

/** Parses `k=v;k=v` into ordered pairs. A value may contain `=` (e.g. `initstmt=SET FOREIGN_KEY_CHECKS=0`). */
export function parseAttributeString(eca: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of eca.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw invalidParameter(`Invalid value for parameter ExtraConnectionAttributes: "${part.trim()}" is not of the form name=value; separate attributes with ";".`);
    }
    pairs.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return pairs;
}

function convert(def: SettingDef, raw: string, field: string): string | number | boolean {
  switch (def.type) {
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', 'y', 'yes', '1'].includes(v)) return true;
      if (['false', 'n', 'no', '0'].includes(v)) return false;
      throw invalidParameter(`Invalid value for ${field}: "${raw}" is not a boolean; use true or false.`);
    }
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) throw invalidParameter(`Invalid value for ${field}: "${raw}" is not an integer.`);
      return Number(raw);
    }
    default:
      return raw;
  }
}

/** Checks one value against its definition (ranges, enums, values opendms cannot honour). */
function checkValue(def: SettingDef, value: unknown, field: string): void {
  if (def.type === 'integer' && typeof value === 'number') {
    if (def.min !== undefined && value < def.min) throw invalidParameter(`Invalid value for ${field}: ${value} is below the minimum ${def.min}.`);
    if (def.max !== undefined && value > def.max) throw invalidParameter(`Invalid value for ${field}: ${value} is above the maximum ${def.max}.`);
  }
  if (def.type === 'enum' && typeof value === 'string') {
    const reason = def.refused?.[value];
    if (reason) throw invalidParameter(`Invalid value for ${field}: "${value}" is not supported (${reason}).`);
    if (def.enumValues && !def.enumValues.includes(value)) {
      throw invalidParameter(`Invalid value for ${field}: "${value}" is not one of ${def.enumValues.join(', ')}.`);
    }
  }
}

/**
 * Extra connection attributes as settings: members by their settings-member name, ECA-only
 * attributes by their ECA name. An attribute this engine does not know is refused, naming it.
 */
export function attributesToSettings(family: EngineFamily, eca: string | undefined): EngineSettings {
  const out: EngineSettings = {};
  if (!eca) return out;
  const defs = SETTINGS[family];
  for (const [key, raw] of parseAttributeString(eca)) {
    const def = defs.find((d) => d.eca.toLowerCase() === key.toLowerCase());
    if (!def) {
      throw invalidParameter(
        `Invalid value for parameter ExtraConnectionAttributes: unknown attribute "${key}" for ${family === 'postgres' ? 'PostgreSQL' : 'MySQL'} endpoints. Known attributes: ${defs.map((d) => d.eca).join(', ')}.`,
      );
    }
    const field = `ExtraConnectionAttributes attribute ${def.eca}`;
    const value = convert(def, raw, field);
    checkValue(def, value, field);
    out[def.member ?? def.eca] = value;
  }
  return out;
}

/** Validates a PostgreSQLSettings/MySQLSettings object given through the API (types were checked by the model). */
export function checkSettingsMember(family: EngineFamily, member: SettingsMember, settings: EngineSettings): void {
  const defs = SETTINGS[family];
  for (const [name, value] of Object.entries(settings)) {
    const reason = AWS_ONLY_MEMBERS[name];
    if (reason) throw invalidParameter(`Invalid value for parameter ${member}.${name}: not supported (${reason}).`);
    const def = defs.find((d) => d.member === name);
    if (def) checkValue(def, value, `parameter ${member}.${name}`);
  }
}

/** The settings an engine runs with: what the endpoint holds, every unset setting at its default. */
export function settingsWithDefaults(family: EngineFamily, settings: EngineSettings): EngineSettings {
  const out: EngineSettings = {};
  for (const d of SETTINGS[family]) {
    if (d.defaultValue !== undefined) out[d.member ?? d.eca] = d.defaultValue;
  }
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) out[k] = v;
  return out;
}

/** DescribeEndpointSettings rows for an engine (names are the extra-connection-attribute names, as AWS lists them). */
export function describeSettings(family: EngineFamily): {
  Name: string;
  Type: SettingType;
  EnumValues?: string[];
  Sensitive: boolean;
  Units?: string;
  Applicability: Applicability;
  IntValueMin?: number;
  IntValueMax?: number;
  DefaultValue?: string;
}[] {
  return SETTINGS[family].map((d) => ({
    Name: d.eca,
    Type: d.type,
    ...(d.enumValues ? { EnumValues: d.enumValues } : {}),
    Sensitive: false,
    ...(d.units ? { Units: d.units } : {}),
    Applicability: d.applicability,
    ...(d.min !== undefined ? { IntValueMin: d.min } : {}),
    ...(d.max !== undefined ? { IntValueMax: d.max } : {}),
    ...(d.defaultValue !== undefined ? { DefaultValue: String(d.defaultValue) } : {}),
  }));
}
