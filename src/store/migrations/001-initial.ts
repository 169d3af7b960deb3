/**
 * Initial metadata schema. Each resource keeps its AWS-shaped document as JSON next to the
 * columns we query or constrain on; secrets live in their own column so a document can never
 * carry them into a response.
 */
export const migration001 = {
  version: 1,
  name: 'initial',
  sql: `
    CREATE TABLE replication_instances (
      arn         TEXT PRIMARY KEY,
      identifier  TEXT NOT NULL UNIQUE COLLATE NOCASE,
      status      TEXT NOT NULL,
      created_at  TEXT NOT NULL,
      doc         TEXT NOT NULL
    );
    CREATE TABLE endpoints (
      arn         TEXT PRIMARY KEY,
      identifier  TEXT NOT NULL UNIQUE COLLATE NOCASE,
      created_at  TEXT NOT NULL,
      doc         TEXT NOT NULL,
      password    TEXT
    );
    CREATE TABLE replication_tasks (
      arn                   TEXT PRIMARY KEY,
      identifier            TEXT NOT NULL UNIQUE COLLATE NOCASE,
      status                TEXT NOT NULL,
      replication_instance  TEXT NOT NULL,
      source_endpoint       TEXT NOT NULL,
      target_endpoint       TEXT NOT NULL,
      created_at            TEXT NOT NULL,
      doc                   TEXT NOT NULL
    );
    CREATE INDEX replication_tasks_instance ON replication_tasks(replication_instance);
    CREATE TABLE connections (
      endpoint_arn  TEXT NOT NULL,
      instance_arn  TEXT NOT NULL,
      created_at    TEXT NOT NULL,
      doc           TEXT NOT NULL,
      PRIMARY KEY (endpoint_arn, instance_arn)
    );
    CREATE TABLE tags (
      resource_arn  TEXT NOT NULL,
      key           TEXT NOT NULL,
      value         TEXT,
      PRIMARY KEY (resource_arn, key)
    );
    CREATE TABLE events (
      id                 INTEGER PRIMARY KEY AUTOINCREMENT,
      source_identifier  TEXT NOT NULL,
      source_type        TEXT NOT NULL,
      source_arn         TEXT,
      message            TEXT NOT NULL,
      categories         TEXT NOT NULL,
      date               TEXT NOT NULL
    );
    CREATE INDEX events_date ON events(date);
    CREATE TABLE table_statistics (
      task_arn     TEXT NOT NULL,
      schema_name  TEXT NOT NULL,
      table_name   TEXT NOT NULL,
      doc          TEXT NOT NULL,
      PRIMARY KEY (task_arn, schema_name, table_name)
    );
    CREATE TABLE settings (
      key    TEXT PRIMARY KEY,
      value  TEXT NOT NULL
    );
  `,
};
