/**
 * Task settings: the complete default document, deep-merge over defaults or a stored document,
 * and faults naming the offending path for unknown keys, wrong types, enums, ranges and
 * combinations.
 */
import { describe, expect, it } from 'vitest';
import { DmsFault } from '../../src/model/faults.js';
import { defaultTaskSettings, readTaskSettings, resolveTaskSettings } from '../../src/model/task-settings.js';

function faultOf(fn: () => unknown): DmsFault {
  try {
    fn();
  } catch (err) {
    if (err instanceof DmsFault) return err;
    throw err;
  }
  throw new Error('expected a fault');
}

describe('defaults', () => {
  it('has every section AWS echoes, in order, with the documented defaults', () => {
    const d = defaultTaskSettings();
    expect(Object.keys(d)).toEqual([
      'TargetMetadata',
      'FullLoadSettings',
      'TTSettings',
      'Logging',
      'ControlTablesSettings',
      'StreamBufferSettings',
      'ChangeProcessingDdlHandlingPolicy',
      'ErrorBehavior',
      'ChangeProcessingTuning',
      'ValidationSettings',
      'PostProcessingRules',
      'CharacterSetSettings',
      'LoopbackPreventionSettings',
      'BeforeImageSettings',
      'FailTaskWhenCleanTaskResourceFailed',
      'OpendmsSettings',
    ]);
    expect(d.FullLoadSettings).toMatchObject({
      TargetTablePrepMode: 'DROP_AND_CREATE',
      MaxFullLoadSubTasks: 8,
      CommitRate: 10000,
      CreatePkAfterFullLoad: false,
      StopTaskCachedChangesApplied: false,
      StopTaskCachedChangesNotApplied: false,
      TransactionConsistencyTimeout: 600,
    });
    expect(d.TargetMetadata).toMatchObject({ TargetSchema: '', SupportLobs: true, FullLobMode: false, LimitedSizeLobMode: true, LobMaxSize: 32, BatchApplyEnabled: false });
    expect(d.Logging).toMatchObject({ EnableLogging: false, CloudWatchLogGroup: null, CloudWatchLogStream: null });
    expect(d.Logging.LogComponents.every((c) => c.Severity === 'LOGGER_SEVERITY_DEFAULT')).toBe(true);
    expect(d.Logging.LogComponents.map((c) => c.Id)).toContain('SOURCE_CAPTURE');
    expect(d.ControlTablesSettings).toMatchObject({ ControlSchema: '', HistoryTimeslotInMinutes: 5, StatusTableEnabled: false });
    expect(d.StreamBufferSettings).toEqual({ StreamBufferCount: 3, StreamBufferSizeInMB: 8, CtrlStreamBufferSizeInMB: 5 });
    expect(d.ChangeProcessingTuning).toMatchObject({ BatchApplyTimeoutMin: 1, BatchApplyTimeoutMax: 30, MemoryLimitTotal: 1024, StatementCacheSize: 50, MinTransactionSize: 1000 });
    expect(d.ChangeProcessingDdlHandlingPolicy).toEqual({ HandleSourceTableDropped: true, HandleSourceTableTruncated: true, HandleSourceTableAltered: true });
    expect(d.ErrorBehavior).toMatchObject({ DataErrorPolicy: 'LOG_ERROR', TableErrorPolicy: 'SUSPEND_TABLE', RecoverableErrorCount: -1, RecoverableErrorInterval: 5, ApplyErrorInsertPolicy: 'LOG_ERROR' });
    expect(d.ValidationSettings).toMatchObject({ EnableValidation: false, ValidationMode: 'ROW_LEVEL', ThreadCount: 5, FailureMaxCount: 10000, TableFailureMaxCount: 1000 });
    expect(d.LoopbackPreventionSettings).toBeNull();
    expect(d.CharacterSetSettings).toBeNull();
    expect(d.BeforeImageSettings).toBeNull();
    expect(d.FailTaskWhenCleanTaskResourceFailed).toBe(false);
    expect(d.OpendmsSettings.RetainedWalAlarmBytes).toBe(1024 ** 3);
  });

  it('hands out independent copies', () => {
    const a = defaultTaskSettings();
    a.FullLoadSettings.CommitRate = 1;
    a.Logging.LogComponents[0]!.Severity = 'LOGGER_SEVERITY_ERROR';
    expect(defaultTaskSettings().FullLoadSettings.CommitRate).toBe(10000);
    expect(defaultTaskSettings().Logging.LogComponents[0]!.Severity).toBe('LOGGER_SEVERITY_DEFAULT');
  });
});

describe('resolveTaskSettings merges', () => {
  it('returns the defaults for an absent or empty fragment, as JSON', () => {
    for (const f of [undefined, '', '{}']) {
      const r = resolveTaskSettings(f);
      expect(r.settings).toEqual(defaultTaskSettings());
      expect(JSON.parse(r.json)).toEqual(defaultTaskSettings());
      expect(r.deleteTaskLogs).toBe(false);
    }
  });

  it('deep-merges a fragment over the defaults', () => {
    const r = resolveTaskSettings(JSON.stringify({ FullLoadSettings: { MaxFullLoadSubTasks: 16, TargetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' }, TargetMetadata: { BatchApplyEnabled: true } }));
    expect(r.settings.FullLoadSettings.MaxFullLoadSubTasks).toBe(16);
    expect(r.settings.FullLoadSettings.TargetTablePrepMode).toBe('TRUNCATE_BEFORE_LOAD');
    expect(r.settings.FullLoadSettings.CommitRate).toBe(10000);
    expect(r.settings.TargetMetadata.BatchApplyEnabled).toBe(true);
    expect(r.settings.TargetMetadata.SupportLobs).toBe(true);
  });

  it('deep-merges over a stored document (Modify), keeping what was set before', () => {
    const stored = resolveTaskSettings('{"FullLoadSettings":{"MaxFullLoadSubTasks":3},"OpendmsSettings":{"RetainedWalAlarmBytes":1000}}').json;
    const r = resolveTaskSettings('{"FullLoadSettings":{"CommitRate":20000}}', stored);
    expect(r.settings.FullLoadSettings).toMatchObject({ MaxFullLoadSubTasks: 3, CommitRate: 20000 });
    expect(r.settings.OpendmsSettings.RetainedWalAlarmBytes).toBe(1000);
    const fromObject = resolveTaskSettings(undefined, JSON.parse(stored) as object);
    expect(fromObject.settings.FullLoadSettings.MaxFullLoadSubTasks).toBe(3);
  });

  it('merges LogComponents by Id', () => {
    const r = resolveTaskSettings('{"Logging":{"EnableLogging":true,"LogComponents":[{"Id":"SOURCE_CAPTURE","Severity":"LOGGER_SEVERITY_DEBUG"},{"Id":"VALIDATOR","Severity":"LOGGER_SEVERITY_ERROR"}]}}');
    const comps = r.settings.Logging.LogComponents;
    expect(comps).toHaveLength(defaultTaskSettings().Logging.LogComponents.length + 1);
    expect(comps.find((c) => c.Id === 'SOURCE_CAPTURE')!.Severity).toBe('LOGGER_SEVERITY_DEBUG');
    expect(comps.find((c) => c.Id === 'TARGET_APPLY')!.Severity).toBe('LOGGER_SEVERITY_DEFAULT');
    expect(comps.at(-1)).toEqual({ Id: 'VALIDATOR', Severity: 'LOGGER_SEVERITY_ERROR' });
  });

  it('accepts a whole document as AWS echoes it, null sections and the lower-case twin included', () => {
    const doc = defaultTaskSettings() as unknown as Record<string, unknown>;
    (doc.ControlTablesSettings as Record<string, unknown>).historyTimeslotInMinutes = 10;
    doc.LoopbackPreventionSettings = { EnableLoopbackPrevention: true, SourceSchema: 'a', TargetSchema: 'b' };
    const r = resolveTaskSettings(JSON.stringify(doc));
    expect(r.settings.ControlTablesSettings.historyTimeslotInMinutes).toBe(10);
    expect(r.settings.LoopbackPreventionSettings).toEqual({ EnableLoopbackPrevention: true, SourceSchema: 'a', TargetSchema: 'b' });
  });

  it('treats DeleteTaskLogs as an action, not a stored setting', () => {
    const r = resolveTaskSettings('{"Logging":{"DeleteTaskLogs":true}}');
    expect(r.deleteTaskLogs).toBe(true);
    expect(r.json).not.toContain('DeleteTaskLogs');
  });

  it('lets a client echo back server-populated CloudWatch fields unchanged', () => {
    const stored = defaultTaskSettings();
    stored.Logging.CloudWatchLogGroup = 'dms-tasks-x';
    const r = resolveTaskSettings(JSON.stringify({ Logging: { CloudWatchLogGroup: 'dms-tasks-x', CloudWatchLogStream: null } }), stored);
    expect(r.settings.Logging.CloudWatchLogGroup).toBe('dms-tasks-x');
    expect(readTaskSettings(stored).Logging.CloudWatchLogGroup).toBe('dms-tasks-x');
  });
});

describe('readTaskSettings', () => {
  it('fills in defaults for keys a stored document lacks', () => {
    const s = readTaskSettings({ FullLoadSettings: { MaxFullLoadSubTasks: 2 } });
    expect(s.FullLoadSettings.MaxFullLoadSubTasks).toBe(2);
    expect(s.ErrorBehavior.DataErrorPolicy).toBe('LOG_ERROR');
    expect(readTaskSettings(undefined)).toEqual(defaultTaskSettings());
  });
});

describe('resolveTaskSettings refuses', () => {
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', '{"FullLoadSettings":', /^Invalid task settings JSON/],
    ['a non-object document', '[1]', /^Invalid task settings JSON: the document must be a JSON object/],
    ['an unknown section', '{"FullLoad":{}}', /FullLoad is not a task setting section/],
    ['an unknown key', '{"FullLoadSettings":{"MaxFullLoadSubTask":4}}', /FullLoadSettings\.MaxFullLoadSubTask is not a task setting\. Valid keys in FullLoadSettings: .*MaxFullLoadSubTasks/],
    ['a section that is not an object', '{"FullLoadSettings":5}', /FullLoadSettings must be an object/],
    ['a string for a number', '{"FullLoadSettings":{"MaxFullLoadSubTasks":"4"}}', /FullLoadSettings\.MaxFullLoadSubTasks must be an integer from 1 to 49 \(got "4"\)/],
    ['MaxFullLoadSubTasks 0', '{"FullLoadSettings":{"MaxFullLoadSubTasks":0}}', /MaxFullLoadSubTasks must be an integer from 1 to 49/],
    ['MaxFullLoadSubTasks 50', '{"FullLoadSettings":{"MaxFullLoadSubTasks":50}}', /MaxFullLoadSubTasks must be an integer from 1 to 49 \(got 50\)/],
    ['a fractional number', '{"FullLoadSettings":{"MaxFullLoadSubTasks":2.5}}', /MaxFullLoadSubTasks must be an integer/],
    ['CommitRate over 50000', '{"FullLoadSettings":{"CommitRate":50001}}', /FullLoadSettings\.CommitRate must be an integer from 1 to 50000/],
    ['a bad prep mode', '{"FullLoadSettings":{"TargetTablePrepMode":"DROP"}}', /TargetTablePrepMode must be one of DO_NOTHING, DROP_AND_CREATE, TRUNCATE_BEFORE_LOAD \(got "DROP"\)/],
    ['a string for a boolean', '{"TargetMetadata":{"SupportLobs":"true"}}', /TargetMetadata\.SupportLobs must be true or false/],
    ['a negative LobChunkSize', '{"TargetMetadata":{"LobChunkSize":-1}}', /TargetMetadata\.LobChunkSize must be an integer from 0 to 102400/],
    ['a bad policy', '{"ErrorBehavior":{"DataErrorPolicy":"PANIC"}}', /ErrorBehavior\.DataErrorPolicy must be one of IGNORE_RECORD, LOG_ERROR, SUSPEND_TABLE, STOP_TASK/],
    ['INSERT_RECORD on updates', '{"ErrorBehavior":{"ApplyErrorUpdatePolicy":"INSERT_RECORD"}}', /ApplyErrorUpdatePolicy must be one of .*UPDATE_RECORD/],
    ['a bad severity', '{"Logging":{"LogComponents":[{"Id":"SORTER","Severity":"LOUD"}]}}', /Logging\.LogComponents\[0\]\.Severity must be one of LOGGER_SEVERITY_ERROR/],
    ['a bad component', '{"Logging":{"LogComponents":[{"Id":"NOPE","Severity":"LOGGER_SEVERITY_INFO"}]}}', /Logging\.LogComponents\[0\]\.Id must be one of/],
    ['LogComponents not a list', '{"Logging":{"LogComponents":{}}}', /Logging\.LogComponents must be a list/],
    ['CloudWatchLogGroup on create', '{"Logging":{"CloudWatchLogGroup":"mine"}}', /Logging\.CloudWatchLogGroup cannot be set/],
    ['CloudWatchLogStream on create', '{"Logging":{"CloudWatchLogStream":"mine"}}', /Logging\.CloudWatchLogStream cannot be set/],
    ['StatementCacheSize over 200', '{"ChangeProcessingTuning":{"StatementCacheSize":201}}', /ChangeProcessingTuning\.StatementCacheSize must be an integer from 0 to 200/],
    ['both LOB modes', '{"TargetMetadata":{"FullLobMode":true}}', /FullLobMode and TargetMetadata\.LimitedSizeLobMode cannot both be true/],
    ['batch apply with full LOB mode', '{"TargetMetadata":{"FullLobMode":true,"LimitedSizeLobMode":false,"BatchApplyEnabled":true}}', /BatchApplyEnabled needs limited LOB mode/],
    ['both cached-changes stops', '{"FullLoadSettings":{"StopTaskCachedChangesApplied":true,"StopTaskCachedChangesNotApplied":true}}', /cannot both be true/],
    ['batch timeouts reversed', '{"ChangeProcessingTuning":{"BatchApplyTimeoutMin":40}}', /BatchApplyTimeoutMin \(40\) must not exceed/],
    ['validation-only without DO_NOTHING', '{"ValidationSettings":{"ValidationOnly":true}}', /ValidationOnly needs FullLoadSettings\.TargetTablePrepMode DO_NOTHING/],
    ['a non-boolean top-level flag', '{"FailTaskWhenCleanTaskResourceFailed":1}', /FailTaskWhenCleanTaskResourceFailed must be true or false/],
    ['a negative WAL alarm', '{"OpendmsSettings":{"RetainedWalAlarmBytes":-5}}', /OpendmsSettings\.RetainedWalAlarmBytes must be an integer >= 0/],
    ['an unknown opendms key', '{"OpendmsSettings":{"Turbo":true}}', /OpendmsSettings\.Turbo is not a task setting/],
    ['an opaque section that is a string', '{"BeforeImageSettings":"x"}', /BeforeImageSettings must be an object or null/],
  ];
  it.each(cases)('%s', (_name, json, pattern) => {
    const f = faultOf(() => resolveTaskSettings(json));
    expect(f.code).toBe('InvalidParameterValueException');
    expect(f.message).toMatch(pattern);
  });

  it('validates the merged result against a stored document too', () => {
    const stored = resolveTaskSettings('{"TargetMetadata":{"FullLobMode":true,"LimitedSizeLobMode":false}}').json;
    expect(faultOf(() => resolveTaskSettings('{"TargetMetadata":{"BatchApplyEnabled":true}}', stored)).message).toMatch(/BatchApplyEnabled needs limited LOB mode/);
  });
});
