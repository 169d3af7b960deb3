/**
 * What `--help` teaches, derived from the model: each option's type in the form the command line
 * takes it (with the shorthand syntax for structures), whether it is required, a summary of its
 * documentation, and a runnable example; plus the grouping of the 119 commands in `opendms --help`.
 */
import { getShape } from '../model/api-model.js';
import { isComplex } from './input.js';
import { kebabName } from './names.js';

/** `integer`, `string, one of: full-load | cdc`, `list: Name=string,Values=string,string ...`. */
export function typeHint(shapeName: string): string {
  const shape = getShape(shapeName);
  switch (shape.type) {
    case 'string':
      return shape.enum ? `string, one of: ${shape.enum.join(' | ')}` : 'string';
    case 'integer':
    case 'long':
      return 'integer';
    case 'double':
      return 'number';
    case 'boolean':
      return 'boolean flag';
    case 'timestamp':
      return 'timestamp: ISO 8601 or epoch seconds';
    case 'blob':
      return 'blob: base64 text or fileb://path';
    case 'list': {
      const member = shape.member!.shape;
      if (isComplex(getShape(member))) return `list of structures, JSON or shorthand: ${shorthandSyntax(member, 0)} ...`;
      return `list of ${typeHint(member).split(',')[0]}s, space separated: value1 value2 ...`;
    }
    case 'structure':
      return `structure, JSON or shorthand: ${shorthandSyntax(shapeName, 0)}`;
    case 'map':
      return 'map, JSON or shorthand: KeyName1=string,KeyName2=string';
  }
}

/** `Name=string,Values=string,string` (the AWS CLI's "Shorthand Syntax" line). */
export function shorthandSyntax(shapeName: string, depth: number): string {
  const shape = getShape(shapeName);
  if (shape.type === 'structure') {
    const inner = Object.entries(shape.members ?? {})
      .map(([k, ref]) => `${k}=${shorthandSyntax(ref.shape, depth + 1)}`)
      .join(',');
    return depth ? `{${inner}}` : inner;
  }
  if (shape.type === 'list') {
    const member = getShape(shape.member!.shape);
    if (member.type === 'structure') return `[${shorthandSyntax(shape.member!.shape, depth + 1)},...]`;
    return `${shorthandSyntax(shape.member!.shape, depth + 1)},${shorthandSyntax(shape.member!.shape, depth + 1)}`;
  }
  if (shape.type === 'map') return '{KeyName1=string,KeyName2=string}';
  if (shape.type === 'integer' || shape.type === 'long') return 'integer';
  if (shape.type === 'double') return 'double';
  if (shape.type === 'boolean') return 'boolean';
  if (shape.type === 'timestamp') return 'timestamp';
  return 'string';
}

const HAND_WRITTEN: Record<string, string[]> = {
  DescribeReplicationTasks: [
    'opendms describe-replication-tasks --filters Name=replication-task-arn,Values=arn:aws:dms:us-east-1:123456789012:task:ABC --without-settings',
    "opendms describe-replication-tasks --query 'ReplicationTasks[].[ReplicationTaskIdentifier,Status]' --output table",
  ],
  DescribeReplicationInstances: [
    "opendms describe-replication-instances --query 'ReplicationInstances[].ReplicationInstanceStatus' --output text",
  ],
  CreateEndpoint: [
    'opendms create-endpoint --endpoint-identifier source-pg --endpoint-type source --engine-name postgres \\\n' +
      '    --server-name 127.0.0.1 --port 5432 --database-name app --username dms --password secret',
  ],
  CreateReplicationTask: [
    'opendms create-replication-task --replication-task-identifier orders --migration-type full-load-and-cdc \\\n' +
      '    --source-endpoint-arn <source arn> --target-endpoint-arn <target arn> \\\n' +
      '    --replication-instance-arn <instance arn> --table-mappings file://mappings.json',
  ],
  CreateReplicationInstance: [
    'opendms create-replication-instance --replication-instance-identifier ri-3-5 --replication-instance-class dms.t3.medium \\\n' +
      '    --engine-version 3.5.3 --allocated-storage 50 --no-multi-az --tags Key=team,Value=data',
  ],
  DescribeEndpoints: ["opendms describe-endpoints --filters Name=engine-name,Values=postgres,mysql --query 'Endpoints[].[EndpointIdentifier,Status]' --output text"],
  TestConnection: ['opendms test-connection --replication-instance-arn <instance arn> --endpoint-arn <endpoint arn>'],
  StopReplicationTask: ['opendms stop-replication-task --replication-task-arn <task arn>'],
  DescribeTableStatistics: ["opendms describe-table-statistics --replication-task-arn <task arn> --query 'TableStatistics[].[SchemaName,TableName,FullLoadRows,Inserts]' --output table"],
  StartReplicationTask: ['opendms start-replication-task --replication-task-arn <task arn> --start-replication-task-type start-replication'],
  MoveReplicationTask: ['opendms move-replication-task --replication-task-arn <task arn> --target-replication-instance-arn <instance arn>'],
  AddTagsToResource: ['opendms add-tags-to-resource --resource-arn <arn> --tags Key=team,Value=data Key=env,Value=prod'],
};

function sampleValue(member: string, shapeName: string): string {
  const shape = getShape(shapeName);
  if (shape.enum) return shape.enum[0]!;
  switch (shape.type) {
    case 'integer':
    case 'long':
    case 'double':
      return '10';
    case 'timestamp':
      return '2026-01-31T12:00:00Z';
    case 'blob':
      return 'fileb://file.bin';
    case 'list':
      return isComplex(getShape(shape.member!.shape)) ? shorthandSyntax(shape.member!.shape, 0) : 'value1 value2';
    case 'structure':
    case 'map':
      return `file://${kebabName(member)}.json`;
    default:
      if (/Arn$/.test(member)) return '<arn>';
      if (/Settings|Mappings|Json$/.test(member)) return `file://${kebabName(member)}.json`;
      return `<${kebabName(member)}>`;
  }
}

/** Examples for `--help`: hand-written for the common commands, otherwise the required options. */
export function examplesFor(operation: string, inputShape: string | undefined): string[] {
  const command = kebabName(operation);
  if (Object.hasOwn(HAND_WRITTEN, operation)) return HAND_WRITTEN[operation]!;
  if (!inputShape) return [`opendms ${command}`];
  const shape = getShape(inputShape);
  const parts = (shape.required ?? []).map((m) => {
    const ref = shape.members![m]!;
    const flag = `--${kebabName(m)}`;
    return getShape(ref.shape).type === 'boolean' ? flag : `${flag} ${sampleValue(m, ref.shape)}`;
  });
  return [[`opendms ${command}`, ...parts].join(' ')];
}

/** Which filter names a resource's ARN, for waiter examples. */
const ARN_FILTERS: Record<string, string> = {
  DescribeReplicationTasks: 'replication-task-arn',
  DescribeReplicationInstances: 'replication-instance-arn',
  DescribeEndpoints: 'endpoint-arn',
  DescribeConnections: 'endpoint-arn',
};

/** `opendms wait replication-task-stopped --filters Name=replication-task-arn,Values=<arn>`. */
export function waiterExample(waiter: string, operation: string, inputShape: string | undefined): string {
  const filter = ARN_FILTERS[operation];
  if (filter) return `opendms wait ${kebabName(waiter)} --filters Name=${filter},Values=<arn> --delay 5`;
  const generic = examplesFor('', inputShape)[0]!.replace(/^opendms\s*/, '');
  return `opendms wait ${kebabName(waiter)} ${generic}`.trim();
}

/** Headings for `opendms --help`; the first rule that matches an operation name wins. */
const GROUPS: [string, RegExp][] = [
  ['Fleet Advisor', /FleetAdvisor|Recommendation/],
  ['Serverless replications', /ReplicationConfig|Replications?$|ReloadReplicationTables|ReplicationTableStatistics/],
  ['Schema conversion and data migrations', /DataProvider|MigrationProject|InstanceProfile|MetadataModel|ExtensionPack|Conversion|DataMigration/],
  ['Account', /AccountAttributes|ApplyPendingMaintenanceAction|PendingMaintenanceActions/],
  ['Replication instances', /ReplicationInstance|EngineVersions|ReplicationSubnetGroup|Orderable/],
  ['Endpoints and connections', /Endpoint|Connection|Schemas|RefreshSchemas/],
  ['Replication tasks', /ReplicationTask|TableStatistics|ReloadTables|ApplicableIndividualAssessments/],
  ['Tags', /Tags/],
  ['Events and subscriptions', /Event/],
  ['Certificates', /Certificate/],
];

/** Display order: what opendms serves first, then the rest of the AWS surface. */
export const GROUP_ORDER = [
  'Account',
  'Replication instances',
  'Endpoints and connections',
  'Replication tasks',
  'Tags',
  'Events and subscriptions',
  'Certificates',
  'Serverless replications',
  'Schema conversion and data migrations',
  'Fleet Advisor',
  'Other operations',
];

export function groupOf(operation: string): string {
  return GROUPS.find(([, re]) => re.test(operation))?.[0] ?? 'Other operations';
}

/** `--generate-cli-skeleton`: the input shape as a JSON template for `--cli-input-json`, like AWS CLI v2. */
export function skeleton(shapeName: string, depth = 0): unknown {
  const shape = getShape(shapeName);
  if (depth > 6) return null; // recursive shapes
  switch (shape.type) {
    case 'structure':
      return Object.fromEntries(Object.entries(shape.members ?? {}).map(([k, ref]) => [k, skeleton(ref.shape, depth + 1)]));
    case 'list':
      return [skeleton(shape.member!.shape, depth + 1)];
    case 'map':
      return { KeyName: skeleton(shape.value!.shape, depth + 1) };
    case 'string':
      return shape.enum?.[0] ?? '';
    case 'integer':
    case 'long':
    case 'double':
      return 0;
    case 'boolean':
      return true;
    case 'timestamp':
      return '1970-01-01T00:00:00Z';
    case 'blob':
      return null;
  }
}
