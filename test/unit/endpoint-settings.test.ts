/** Engines, extra connection attributes and settings validation (pure, no database). */
import { describe, expect, it } from 'vitest';
import {
  attributesToSettings,
  checkSettingsMember,
  describeSettings,
  engineInfo,
  parseAttributeString,
  settingsWithDefaults,
} from '../../src/model/endpoint-settings.js';

describe('engineInfo', () => {
  it('knows the PostgreSQL and MySQL families with their default ports and display names', () => {
    expect(engineInfo('postgres')).toMatchObject({ family: 'postgres', defaultPort: 5432, displayName: 'PostgreSQL', settingsMember: 'PostgreSQLSettings' });
    expect(engineInfo('aurora-postgresql').family).toBe('postgres');
    expect(engineInfo('MariaDB')).toMatchObject({ engineName: 'mariadb', family: 'mysql', defaultPort: 3306, displayName: 'MariaDB' });
    expect(engineInfo('aurora').displayName).toBe('Amazon Aurora MySQL');
  });

  it('refuses another engine, naming EngineName and the supported ones', () => {
    expect(() => engineInfo('oracle')).toThrow(/EngineName: "oracle".*postgres, aurora-postgresql, mysql, mariadb, aurora/);
  });
});

describe('extra connection attributes', () => {
  it('splits on ; and the first =, ignoring blanks and a trailing ;', () => {
    expect(parseAttributeString(' a=1; initstmt=SET FOREIGN_KEY_CHECKS=0 ;;')).toEqual([
      ['a', '1'],
      ['initstmt', 'SET FOREIGN_KEY_CHECKS=0'],
    ]);
    expect(() => parseAttributeString('justaword')).toThrow(/"justaword" is not of the form name=value/);
  });

  it('maps camelCase attributes onto settings members with their types, case-insensitively', () => {
    expect(attributesToSettings('postgres', 'heartbeatEnable=Y;HEARTBEATFREQUENCY=3;slotName=s1;captureDDLs=false')).toEqual({
      HeartbeatEnable: true,
      HeartbeatFrequency: 3,
      SlotName: 's1',
      CaptureDdls: false,
    });
    expect(attributesToSettings('mysql', 'parallelLoadThreads=4;initstmt=SET FOREIGN_KEY_CHECKS=0')).toEqual({
      ParallelLoadThreads: 4,
      initstmt: 'SET FOREIGN_KEY_CHECKS=0',
    });
  });

  it('refuses an unknown attribute naming it, and bad values naming the attribute', () => {
    expect(() => attributesToSettings('postgres', 'slotName=a;bogusKey=1')).toThrow(/unknown attribute "bogusKey" for PostgreSQL endpoints/);
    expect(() => attributesToSettings('postgres', 'heartbeatFrequency=often')).toThrow(/heartbeatFrequency: "often" is not an integer/);
    expect(() => attributesToSettings('postgres', 'heartbeatEnable=maybe')).toThrow(/heartbeatEnable: "maybe" is not a boolean/);
    expect(() => attributesToSettings('mysql', 'targetDbType=one')).toThrow(/targetDbType: "one" is not one of specific-database, multiple-databases/);
    expect(() => attributesToSettings('mysql', 'slotName=x')).toThrow(/unknown attribute "slotName" for MySQL/);
  });

  it('accepts pgoutput as plugin and refuses the decoders opendms does not use', () => {
    expect(attributesToSettings('postgres', 'pluginName=pgoutput')).toEqual({ PluginName: 'pgoutput' });
    expect(() => attributesToSettings('postgres', 'pluginName=test-decoding')).toThrow(/pgoutput/);
  });
});

describe('settings members', () => {
  it('refuses values opendms cannot honour, naming the member', () => {
    expect(() => checkSettingsMember('postgres', 'PostgreSQLSettings', { PluginName: 'pglogical' })).toThrow(/PostgreSQLSettings.PluginName: "pglogical" is not supported/);
    expect(() => checkSettingsMember('mysql', 'MySQLSettings', { AuthenticationMethod: 'iam' })).toThrow(/IAM/);
    expect(() => checkSettingsMember('mysql', 'MySQLSettings', { SecretsManagerSecretId: 'x' })).toThrow(/MySQLSettings.SecretsManagerSecretId/);
    expect(() => checkSettingsMember('postgres', 'PostgreSQLSettings', { HeartbeatFrequency: 0 })).toThrow(/below the minimum 1/);
    expect(() => checkSettingsMember('postgres', 'PostgreSQLSettings', { SlotName: 'ok', HeartbeatEnable: false })).not.toThrow();
  });

  it('fills defaults under what the endpoint holds', () => {
    const s = settingsWithDefaults('postgres', { HeartbeatFrequency: 1, SlotName: 'x' });
    expect(s).toMatchObject({ HeartbeatEnable: true, HeartbeatFrequency: 1, HeartbeatSchema: 'public', PluginName: 'pgoutput', ExecuteTimeout: 60, SlotName: 'x' });
  });

  it('describes settings by attribute name with type, default and applicability', () => {
    const rows = describeSettings('postgres');
    expect(rows.find((r) => r.Name === 'heartbeatFrequency')).toEqual({
      Name: 'heartbeatFrequency',
      Type: 'integer',
      Sensitive: false,
      Units: 'minutes',
      Applicability: 'source',
      IntValueMin: 1,
      DefaultValue: '5',
    });
    expect(rows.find((r) => r.Name === 'pluginName')?.EnumValues).toEqual(['no-preference', 'pgoutput']);
    expect(describeSettings('mysql').map((r) => r.Name)).toContain('targetDbType');
  });
});
