/**
 * DescribeReplicationTasks filters and pages on a few keys of every task. Keeping MigrationType in
 * its own column and all those keys in one covering index lets it read them without touching the
 * (large) documents: an index-only scan in Describe order.
 */
export const migration030 = {
  version: 30,
  name: 'task-describe-index',
  sql: `
    ALTER TABLE replication_tasks ADD COLUMN migration_type TEXT;
    UPDATE replication_tasks SET migration_type = json_extract(doc, '$.MigrationType');
    CREATE INDEX replication_tasks_describe
      ON replication_tasks(created_at, arn, identifier, replication_instance, source_endpoint, target_endpoint, migration_type);
  `,
};
