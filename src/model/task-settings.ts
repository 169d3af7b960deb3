/**
 * Replication task settings (`ReplicationTaskSettings` JSON, spec §5): the complete default
 * document, validation of what users send, and the typed view the engine reads.
 *
 * One schema below is the single source of truth: it gives the defaults, the validation (type,
 * enum, range per key; unknown sections and keys refused, naming the path), the key order the
 * API echoes, and the TypeScript type (`TaskSettings`). A user's fragment is deep-merged over the
 * stored document (ModifyReplicationTask) or over the defaults (CreateReplicationTask); the
 * result is always complete.
 *
 * Our own settings live in the clearly namespaced section `OpendmsSettings`, which AWS does not
 * have, so no AWS key is ever overloaded:
 *   - `RetainedWalAlarmBytes` (default 1 GiB; 0 turns the alarm off): when the WAL a task's slot
 *     holds back on a PostgreSQL source passes this many bytes, the task records an event.
 *   - `SqlCatchUpThresholdBytes` (default 16 MiB; 0 = always stream): CDC that starts at least this
 *     much WAL behind reads the backlog through the SQL decoding functions, then streams
 *     (docs/cdc.md, "Catching up a backlog").
 *   - `SqlCatchUpWhileStreamingBytes` (default 64 MiB; 0 = never): streaming CDC that stays at least
 *     this much WAL behind the source for 10 s stops at a transaction boundary and catches up the
 *     same way (docs/cdc.md, "Falling behind while streaming").
 *
 * @example
 *   const { settings, json } = resolveTaskSettings('{"FullLoadSettings":{"MaxFullLoadSubTasks":4}}');
 *   settings.FullLoadSettings.MaxFullLoadSubTasks; // 4
 *   settings.FullLoadSettings.CommitRate;          // 10000 (default)
 */
import { invalidParameter, type DmsFault } from './faults.js';

// --- schema DSL ------------------------------------------------------------------------------

interface KeySpec<T> {
  readonly default: T;
  /** Returns the validated value, or a text saying what is allowed (the caller adds the path). */
  check(value: unknown): { ok: T } | { error: string };
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

function bool(d: boolean): KeySpec<boolean> {
  return { default: d, check: (v) => (typeof v === 'boolean' ? { ok: v } : { error: `must be true or false (got ${show(v)})` }) };
}

function int(d: number, min: number, max = Number.MAX_SAFE_INTEGER): KeySpec<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return {
    default: d,
    check: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? { ok: v } : { error: `must be ${range} (got ${show(v)})` }),
  };
}

function oneOf<const V extends string>(d: V, values: readonly V[]): KeySpec<V> {
  return {
    default: d,
    check: (v) => ((values as readonly unknown[]).includes(v) ? { ok: v as V } : { error: `must be one of ${values.join(', ')} (got ${show(v)})` }),
  };
}

function str(d: string): KeySpec<string> {
  return { default: d, check: (v) => (typeof v === 'string' ? { ok: v } : { error: `must be a string (got ${show(v)})` }) };
}

function nullableStr(): KeySpec<string | null> {
  return { default: null, check: (v) => (v === null || typeof v === 'string' ? { ok: v } : { error: `must be a string or null (got ${show(v)})` }) };
}

/** A free-form section (AWS sends `null` until a user sets it; its content targets other engines). */
function opaque(): KeySpec<Record<string, unknown> | null> {
  return {
    default: null,
    check: (v) => (v === null || (typeof v === 'object' && !Array.isArray(v)) ? { ok: v as Record<string, unknown> | null } : { error: `must be an object or null (got ${show(v)})` }),
  };
}

type Section = Record<string, KeySpec<unknown>>;
type ValueOf<S> = S extends KeySpec<infer T> ? T : never;
type SectionValue<S extends Section> = { -readonly [K in keyof S]: ValueOf<S[K]> };

// --- the schema --------------------------------------------------------------------------------

export const LOG_COMPONENT_IDS = [
  'TRANSFORMATION',
  'SOURCE_UNLOAD',
  'IO',
  'TARGET_LOAD',
  'PERFORMANCE',
  'SOURCE_CAPTURE',
  'SORTER',
  'REST_SERVER',
  'VALIDATOR_EXT',
  'TARGET_APPLY',
  'TASK_MANAGER',
  'TABLES_MANAGER',
  'METADATA_MANAGER',
  'FILE_FACTORY',
  'COMMON',
  'ADDONS',
  'DATA_STRUCTURE',
  'COMMUNICATION',
  'FILE_TRANSFER',
  'VALIDATOR',
] as const;
export type LogComponentId = (typeof LOG_COMPONENT_IDS)[number];

/** Ascending verbosity; DEFAULT is INFO. */
export const LOG_SEVERITIES = [
  'LOGGER_SEVERITY_ERROR',
  'LOGGER_SEVERITY_WARNING',
  'LOGGER_SEVERITY_INFO',
  'LOGGER_SEVERITY_DEFAULT',
  'LOGGER_SEVERITY_DEBUG',
  'LOGGER_SEVERITY_DETAILED_DEBUG',
] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];

export interface LogComponent {
  Id: LogComponentId;
  Severity: LogSeverity;
}

function logComponents(): KeySpec<LogComponent[]> {
  return {
    // VALIDATOR is accepted but, as in AWS's own default document, not listed.
    default: LOG_COMPONENT_IDS.filter((id) => id !== 'VALIDATOR').map((Id) => ({ Id, Severity: 'LOGGER_SEVERITY_DEFAULT' as const })),
    check: (v) => {
      if (!Array.isArray(v)) return { error: `must be a list of {"Id", "Severity"} objects (got ${show(v)})` };
      const out: LogComponent[] = [];
      for (const [i, c] of v.entries()) {
        const o = c as Record<string, unknown> | null;
        if (typeof o !== 'object' || o === null) return { error: `[${i}] must be an object with Id and Severity` };
        const extra = Object.keys(o).filter((k) => k !== 'Id' && k !== 'Severity');
        if (extra.length) return { error: `[${i}].${extra[0]} is not a task setting; a log component has Id and Severity` };
        if (!(LOG_COMPONENT_IDS as readonly unknown[]).includes(o.Id)) return { error: `[${i}].Id must be one of ${LOG_COMPONENT_IDS.join(', ')} (got ${show(o.Id)})` };
        if (!(LOG_SEVERITIES as readonly unknown[]).includes(o.Severity)) return { error: `[${i}].Severity must be one of ${LOG_SEVERITIES.join(', ')} (got ${show(o.Severity)})` };
        out.push({ Id: o.Id as LogComponentId, Severity: o.Severity as LogSeverity });
      }
      return { ok: out };
    },
  };
}

const DATA_POLICY = ['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK'] as const;
const ESCALATION = ['SUSPEND_TABLE', 'STOP_TASK'] as const;

const SCHEMA = {
  TargetMetadata: {
    TargetSchema: str(''),
    SupportLobs: bool(true),
    FullLobMode: bool(false),
    LobChunkSize: int(64, 0, 102400),
    LimitedSizeLobMode: bool(true),
    LobMaxSize: int(32, 0, 102400),
    InlineLobMaxSize: int(0, 0, 102400),
    LoadMaxFileSize: int(0, 0, 100000),
    ParallelLoadThreads: int(0, 0, 32),
    ParallelLoadBufferSize: int(0, 0, 1000),
    ParallelLoadQueuesPerThread: int(0, 0, 512),
    ParallelApplyThreads: int(0, 0, 32),
    ParallelApplyBufferSize: int(0, 0, 1000),
    ParallelApplyQueuesPerThread: int(0, 0, 512),
    BatchApplyEnabled: bool(false),
    TaskRecoveryTableEnabled: bool(false),
  },
  FullLoadSettings: {
    TargetTablePrepMode: oneOf('DROP_AND_CREATE', ['DO_NOTHING', 'DROP_AND_CREATE', 'TRUNCATE_BEFORE_LOAD']),
    CreatePkAfterFullLoad: bool(false),
    StopTaskCachedChangesApplied: bool(false),
    StopTaskCachedChangesNotApplied: bool(false),
    MaxFullLoadSubTasks: int(8, 1, 49),
    TransactionConsistencyTimeout: int(600, 0, 86400),
    CommitRate: int(10000, 1, 50000),
    PersistPartitionProgressForResumption: bool(false),
  },
  TTSettings: opaque(),
  Logging: {
    EnableLogging: bool(false),
    EnableLogContext: bool(false),
    LogComponents: logComponents(),
    CloudWatchLogGroup: nullableStr(),
    CloudWatchLogStream: nullableStr(),
    LogConfiguration: opaqueWithDefault({ EnableTraceOnError: false, TraceOnErrorMb: 10 }),
  },
  ControlTablesSettings: {
    ControlSchema: str(''),
    HistoryTimeslotInMinutes: int(5, 1, 1440),
    // The live API echoes this lower-case twin; accept it so documents copied from AWS load.
    historyTimeslotInMinutes: int(5, 1, 1440),
    HistoryTableEnabled: bool(false),
    SuspendedTablesTableEnabled: bool(false),
    StatusTableEnabled: bool(false),
    FullLoadExceptionTableEnabled: bool(false),
    CommitPositionTableEnabled: bool(false),
  },
  StreamBufferSettings: {
    StreamBufferCount: int(3, 2, 64),
    StreamBufferSizeInMB: int(8, 1, 1024),
    CtrlStreamBufferSizeInMB: int(5, 1, 8),
  },
  ChangeProcessingDdlHandlingPolicy: {
    HandleSourceTableDropped: bool(true),
    HandleSourceTableTruncated: bool(true),
    HandleSourceTableAltered: bool(true),
  },
  ErrorBehavior: {
    DataErrorPolicy: oneOf('LOG_ERROR', DATA_POLICY),
    DataMaskingErrorPolicy: oneOf('STOP_TASK', DATA_POLICY),
    DataTruncationErrorPolicy: oneOf('LOG_ERROR', DATA_POLICY),
    DataErrorEscalationPolicy: oneOf('SUSPEND_TABLE', ESCALATION),
    DataErrorEscalationCount: int(0, 0),
    TableErrorPolicy: oneOf('SUSPEND_TABLE', ESCALATION),
    TableErrorEscalationPolicy: oneOf('STOP_TASK', ['STOP_TASK']),
    TableErrorEscalationCount: int(0, 0),
    RecoverableErrorCount: int(-1, -1),
    RecoverableErrorInterval: int(5, 0),
    RecoverableErrorThrottling: bool(true),
    RecoverableErrorThrottlingMax: int(1800, 0),
    RecoverableErrorStopRetryAfterThrottlingMax: bool(true),
    ApplyErrorDeletePolicy: oneOf('IGNORE_RECORD', DATA_POLICY),
    ApplyErrorInsertPolicy: oneOf('LOG_ERROR', [...DATA_POLICY, 'INSERT_RECORD']),
    ApplyErrorUpdatePolicy: oneOf('LOG_ERROR', [...DATA_POLICY, 'UPDATE_RECORD']),
    ApplyErrorEscalationPolicy: oneOf('LOG_ERROR', ['LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK']),
    ApplyErrorEscalationCount: int(0, 0),
    ApplyErrorFailOnTruncationDdl: bool(false),
    FullLoadIgnoreConflicts: bool(true),
    FailOnTransactionConsistencyBreached: bool(false),
    // The live API's default (the 2023 User Guide says false): a task that selects no table fails.
    FailOnNoTablesCaptured: bool(true),
    EventErrorPolicy: oneOf('IGNORE', ['IGNORE', 'STOP_TASK']),
  },
  ChangeProcessingTuning: {
    BatchApplyPreserveTransaction: bool(true),
    BatchApplyTimeoutMin: int(1, 0),
    BatchApplyTimeoutMax: int(30, 0),
    BatchApplyMemoryLimit: int(500, 0),
    BatchSplitSize: int(0, 0),
    MinTransactionSize: int(1000, 0),
    CommitTimeout: int(1, 0),
    MemoryLimitTotal: int(1024, 0),
    MemoryKeepTime: int(60, 0),
    StatementCacheSize: int(50, 0, 200),
    RecoveryTimeout: int(-1, -1),
  },
  ValidationSettings: {
    EnableValidation: bool(false),
    ValidationMode: oneOf('ROW_LEVEL', ['ROW_LEVEL']),
    ThreadCount: int(5, 1, 100),
    PartitionSize: int(10000, 1),
    FailureMaxCount: int(10000, 0),
    TableFailureMaxCount: int(1000, 0),
    RecordFailureDelayInMinutes: int(5, 0),
    RecordSuspendDelayInMinutes: int(30, 0),
    RecordFailureDelayLimitInMinutes: int(0, 0),
    MaxKeyColumnSize: int(8096, 1),
    ValidationOnly: bool(false),
    HandleCollationDiff: bool(false),
    SkipLobColumns: bool(false),
    ValidationPartialLobSize: int(0, 0),
    ValidationQueryCdcDelaySeconds: int(0, 0),
  },
  PostProcessingRules: opaque(),
  CharacterSetSettings: opaque(),
  LoopbackPreventionSettings: opaque(),
  BeforeImageSettings: opaque(),
  FailTaskWhenCleanTaskResourceFailed: bool(false),
  OpendmsSettings: {
    RetainedWalAlarmBytes: int(1024 * 1024 * 1024, 0),
    SqlCatchUpThresholdBytes: int(16 * 1024 * 1024, 0),
    SqlCatchUpWhileStreamingBytes: int(64 * 1024 * 1024, 0),
  },
} as const;

function opaqueWithDefault<T extends Record<string, unknown>>(d: T): KeySpec<T> {
  return {
    default: d,
    check: (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? { ok: v as T } : { error: `must be an object (got ${show(v)})` }),
  };
}

type Schema = typeof SCHEMA;

/** The complete settings document, typed: what the engine reads. */
export type TaskSettings = {
  -readonly [K in keyof Schema]: Schema[K] extends KeySpec<unknown> ? ValueOf<Schema[K]> : Schema[K] extends Section ? SectionValue<Schema[K]> : never;
};

const isSpec = (v: unknown): v is KeySpec<unknown> => typeof v === 'object' && v !== null && 'check' in v && 'default' in v;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const clone = <T>(v: T): T => structuredClone(v);

/** The complete default document (a fresh copy). */
export function defaultTaskSettings(): TaskSettings {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SCHEMA)) {
    if (isSpec(spec)) out[name] = clone(spec.default);
    else out[name] = Object.fromEntries(Object.entries(spec as Section).map(([k, s]) => [k, clone(s.default)]));
  }
  return out as TaskSettings;
}

// --- resolution --------------------------------------------------------------------------------

export interface ResolvedTaskSettings {
  settings: TaskSettings;
  /** The complete document as the API echoes it in ReplicationTaskSettings. */
  json: string;
  /** `Logging.DeleteTaskLogs: true` was sent: an action (delete the task's logs), never stored. */
  deleteTaskLogs: boolean;
}

const fail = (message: string): DmsFault => invalidParameter(`Invalid task settings: ${message}`);

/** Fields opendms fills in; users may echo the stored value back but never choose one. */
const SERVER_POPULATED = ['CloudWatchLogGroup', 'CloudWatchLogStream'];

interface ResolveOptions {
  /** Accept server-populated fields as they are (reading back a stored document). */
  trusted?: boolean;
}

function mergeLogComponents(base: LogComponent[], update: LogComponent[]): LogComponent[] {
  const out = base.map((c) => ({ ...c }));
  for (const c of update) {
    const at = out.findIndex((b) => b.Id === c.Id);
    if (at === -1) out.push(c);
    else out[at] = c;
  }
  return out;
}

function applyFragment(doc: Record<string, unknown>, fragment: Record<string, unknown>, opts: ResolveOptions): { deleteTaskLogs: boolean } {
  let deleteTaskLogs = false;
  for (const [name, value] of Object.entries(fragment)) {
    if (!Object.hasOwn(SCHEMA, name)) {
      throw fail(`${name} is not a task setting section. Valid sections: ${Object.keys(SCHEMA).join(', ')}.`);
    }
    const spec = SCHEMA[name as keyof Schema] as KeySpec<unknown> | Section;
    if (isSpec(spec)) {
      const r = spec.check(value);
      if ('error' in r) throw fail(`${name} ${r.error}.`);
      doc[name] = r.ok;
      continue;
    }
    if (value === null) continue; // "null" for a whole section: keep what is there.
    if (!isPlainObject(value)) throw fail(`${name} must be an object (got ${show(value)}).`);
    const section = { ...(doc[name] as Record<string, unknown>) };
    for (const [key, v] of Object.entries(value)) {
      const path = `${name}.${key}`;
      if (name === 'Logging' && key === 'DeleteTaskLogs') {
        if (typeof v !== 'boolean') throw fail(`${path} must be true or false (got ${show(v)}).`);
        deleteTaskLogs = v;
        continue;
      }
      const keySpec = Object.hasOwn(spec, key) ? spec[key] : undefined;
      if (!keySpec) throw fail(`${path} is not a task setting. Valid keys in ${name}: ${Object.keys(spec).join(', ')}.`);
      const r = keySpec.check(v);
      if ('error' in r) throw fail(`${path}${/^[[.]/.test(r.error) ? '' : ' '}${r.error}.`);
      if (!opts.trusted && name === 'Logging' && SERVER_POPULATED.includes(key) && r.ok !== null && r.ok !== section[key]) {
        throw fail(`${path} cannot be set: opendms fills it in when the task runs. Leave it out or null.`);
      }
      section[key] = key === 'LogComponents' ? mergeLogComponents(section[key] as LogComponent[], r.ok as LogComponent[]) : r.ok;
    }
    doc[name] = section;
  }
  return { deleteTaskLogs };
}

/** Rules that involve more than one key. */
function checkCombinations(s: TaskSettings): void {
  const tm = s.TargetMetadata;
  if (tm.FullLobMode && tm.LimitedSizeLobMode) {
    throw fail('TargetMetadata.FullLobMode and TargetMetadata.LimitedSizeLobMode cannot both be true; choose one LOB mode.');
  }
  if (tm.BatchApplyEnabled && tm.FullLobMode) {
    throw fail('TargetMetadata.BatchApplyEnabled needs limited LOB mode: set TargetMetadata.FullLobMode to false.');
  }
  const fl = s.FullLoadSettings;
  if (fl.StopTaskCachedChangesApplied && fl.StopTaskCachedChangesNotApplied) {
    throw fail('FullLoadSettings.StopTaskCachedChangesApplied and FullLoadSettings.StopTaskCachedChangesNotApplied cannot both be true.');
  }
  const cpt = s.ChangeProcessingTuning;
  if (cpt.BatchApplyTimeoutMin > cpt.BatchApplyTimeoutMax) {
    throw fail(`ChangeProcessingTuning.BatchApplyTimeoutMin (${cpt.BatchApplyTimeoutMin}) must not exceed ChangeProcessingTuning.BatchApplyTimeoutMax (${cpt.BatchApplyTimeoutMax}).`);
  }
  if (s.ValidationSettings.ValidationOnly && fl.TargetTablePrepMode !== 'DO_NOTHING') {
    throw fail('ValidationSettings.ValidationOnly needs FullLoadSettings.TargetTablePrepMode DO_NOTHING.');
  }
}

function parseFragment(json: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw invalidParameter(`Invalid task settings JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(v)) throw invalidParameter('Invalid task settings JSON: the document must be a JSON object of sections.');
  return v;
}

function baseDocument(base: object | string | undefined): Record<string, unknown> {
  const doc = defaultTaskSettings() as unknown as Record<string, unknown>;
  if (base === undefined) return doc;
  // A stored document was validated when stored; merging it over the defaults also fills in
  // keys added to the schema since it was stored.
  applyFragment(doc, typeof base === 'string' ? parseFragment(base) : (base as Record<string, unknown>), { trusted: true });
  return doc;
}

/**
 * Deep-merges a settings fragment (the user's ReplicationTaskSettings, possibly partial or
 * absent) over `base` (the task's stored document on Modify; the defaults on Create) and
 * validates the result. Throws InvalidParameterValueException naming the offending path.
 */
export function resolveTaskSettings(fragmentJson: string | undefined, base?: object | string): ResolvedTaskSettings {
  const doc = baseDocument(base);
  let deleteTaskLogs = false;
  if (fragmentJson !== undefined && fragmentJson.trim() !== '') {
    deleteTaskLogs = applyFragment(doc, parseFragment(fragmentJson), {}).deleteTaskLogs;
  }
  const settings = doc as unknown as TaskSettings;
  checkCombinations(settings);
  return { settings, json: JSON.stringify(settings), deleteTaskLogs };
}

/**
 * The typed view of a stored document (e.g. `TaskSpec.settings`), with defaults for anything it
 * lacks. For the engine: never refuses server-populated fields.
 */
export function readTaskSettings(doc: object | string | undefined): TaskSettings {
  return baseDocument(doc) as unknown as TaskSettings;
}
