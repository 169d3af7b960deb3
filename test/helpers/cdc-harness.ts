/**
 * Drives the engine directly (startTask + a recording TaskReporter) against real clusters, with a
 * concurrent write workload covering the common types, and compares source and target row by row.
 */
import pg from 'pg';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CdcStats, EndpointConnectionSpec, TableStats, TaskOutcome, TaskReporter, TaskSpec } from '../../src/engine/contracts.js';
import { defaultTaskSettings } from '../../src/model/task-settings.js';
import type { PostgresCluster } from './postgres.js';
import { waitFor } from './ports.js';

const HELPERS_DIR = dirname(fileURLToPath(import.meta.url));

export function endpointSpec(c: PostgresCluster, type: 'source' | 'target', database = 'postgres', settings: Record<string, unknown> = {}): EndpointConnectionSpec {
  return {
    endpointArn: `arn:aws:dms:us-east-1:000000000000:endpoint:${type.toUpperCase()}${c.port}`,
    endpointIdentifier: `${type}-${c.port}`,
    endpointType: type,
    engineName: 'postgres',
    serverName: c.host,
    port: c.port,
    databaseName: database,
    username: c.user,
    password: c.password,
    sslMode: 'none',
    settings,
  };
}

export interface SpecOptions {
  taskId: string;
  migrationType: TaskSpec['migrationType'];
  startType?: TaskSpec['startType'];
  batchApply?: boolean;
  tables?: string;
  settings?: Record<string, Record<string, unknown>>;
  sourceSettings?: Record<string, unknown>;
  extra?: Partial<TaskSpec>;
}

export function taskSpec(source: PostgresCluster, target: PostgresCluster, o: SpecOptions): TaskSpec {
  const settings = defaultTaskSettings() as unknown as Record<string, Record<string, unknown>>;
  settings.TargetMetadata!.BatchApplyEnabled = o.batchApply ?? false;
  settings.ErrorBehavior!.RecoverableErrorInterval = 1;
  settings.FullLoadSettings!.MaxFullLoadSubTasks = 4;
  for (const [section, values] of Object.entries(o.settings ?? {})) Object.assign(settings[section]!, values);
  return {
    taskArn: `arn:aws:dms:us-east-1:000000000000:task:${o.taskId}`,
    taskIdentifier: o.taskId.toLowerCase(),
    taskResourceId: o.taskId,
    migrationType: o.migrationType,
    tableMappings: {
      rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'app', 'table-name': o.tables ?? '%' }, 'rule-action': 'include' }],
    },
    settings,
    source: endpointSpec(source, 'source', 'postgres', o.sourceSettings),
    target: endpointSpec(target, 'target'),
    startType: o.startType ?? 'start-replication',
    workDir: mkdtempSync(join(tmpdir(), 'opendms-task-')),
    ...o.extra,
  };
}

/** A TaskReporter that records everything. */
export class RecordingReporter implements TaskReporter {
  statuses: TaskOutcome[] = [];
  checkpoints: string[] = [];
  events: string[] = [];
  lastTables: TableStats[] = [];
  lastCdc: CdcStats | undefined;
  status(o: TaskOutcome): void {
    this.statuses.push(o);
  }
  progress(p: { tables: TableStats[]; cdc?: CdcStats }): void {
    this.lastTables = p.tables;
    if (p.cdc) this.lastCdc = p.cdc;
  }
  checkpoint(c: string): void {
    this.checkpoints.push(c);
  }
  event(message: string): void {
    this.events.push(message);
  }
  get final(): TaskOutcome | undefined {
    const last = this.statuses[this.statuses.length - 1];
    return last && last.status !== 'running' ? last : undefined;
  }
  async waitRunning(): Promise<void> {
    await waitFor('task running', async () => {
      if (this.final) throw new Error(`task ended: ${JSON.stringify(this.final)}`);
      return this.statuses.some((s) => s.status === 'running');
    }, 60_000);
  }
  async waitFinal(timeoutMs = 60_000): Promise<Exclude<TaskOutcome, { status: 'running' }>> {
    return waitFor('task to end', async () => this.final as Exclude<TaskOutcome, { status: 'running' }> | undefined, timeoutMs);
  }
}

/** Schema with every common type, a counter table (n = n + 1 detects double apply), FK tables and a key-less table. */
export const SCHEMA_SQL = `
  CREATE SCHEMA app;
  CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE app.items (
    id bigint PRIMARY KEY, n int, label text, amount numeric(14,4), ts timestamptz, d date, iv interval,
    doc jsonb, tags text[], nums int[], blob bytea, uid uuid, mood app.mood, flag boolean, f8 double precision, big text);
  CREATE TABLE app.counters (id int PRIMARY KEY, n bigint NOT NULL);
  CREATE TABLE app.parent (id int PRIMARY KEY, name text);
  CREATE TABLE app.child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES app.parent(id), note text);
  CREATE TABLE app.nokey (a int, b text);
  ALTER TABLE app.nokey REPLICA IDENTITY FULL;
  INSERT INTO app.counters SELECT g, 0 FROM generate_series(1, 20) g;
`;

/** A value large and random enough to be TOASTed out of line. */
export const BIG_SQL = `(SELECT string_agg(md5(random()::text || g::text), '') FROM generate_series(1, 150) g)`;

export async function seed(db: PostgresCluster, rows: number): Promise<void> {
  await db.query(SCHEMA_SQL);
  await db.query(
    `INSERT INTO app.items SELECT g, 0, 'row ' || g || E' \\\\ "q" ''x''', g * 1.2345, now() - g * interval '1 minute', DATE '2020-01-01' + g,
       make_interval(days => g % 30, secs => g / 7.0), jsonb_build_object('g', g, 'a', jsonb_build_array(1, 'two', null)),
       ARRAY['a', 'b,c', NULL, 'd"e'], ARRAY[g, g + 1], decode(md5(g::text), 'hex'), md5(g::text)::uuid,
       (ARRAY['sad','ok','happy'])[1 + g % 3]::app.mood, g % 2 = 0, g / 3.0, CASE WHEN g % 10 = 0 THEN ${BIG_SQL} END
     FROM generate_series(1, ${rows}) g`,
  );
  await db.query(`INSERT INTO app.parent SELECT g, 'p' || g FROM generate_series(1, 10) g`);
  await db.query(`INSERT INTO app.child SELECT g, 1 + g % 10, 'c' || g FROM generate_series(1, 20) g`);
  await db.query(`INSERT INTO app.nokey SELECT g % 5, 'v' || g FROM generate_series(1, 10) g`);
}

/** Random transactions on the source until stopped; returns how many committed. */
export class Workload {
  private running = true;
  private done: Promise<void>;
  committed = 0;
  private nextId: number;
  private nextParent: number;

  constructor(
    private readonly db: PostgresCluster,
    private readonly startId: number,
  ) {
    this.nextId = startId;
    this.nextParent = startId;
    // A workload failure is reported by stop(), not as an unhandled rejection.
    this.done = this.loop().catch((err: Error) => {
      this.error = err;
    });
  }

  error: Error | undefined;

  private async loop(): Promise<void> {
    const c = new pg.Client({ connectionString: this.db.connectionString() });
    c.on('error', () => {});
    await c.connect();
    try {
      while (this.running) {
        await c.query('BEGIN');
        const kind = Math.floor(Math.random() * 6);
        // Half the time a seeded row, half a row this workload inserted.
        const id = Math.random() < 0.5 ? 1 + Math.floor(Math.random() * 2000) : this.startId + Math.floor(Math.random() * (this.nextId - this.startId + 1));
        switch (kind) {
          case 0: {
            const ids = [this.nextId++, this.nextId++, this.nextId++];
            await c.query(
              `INSERT INTO app.items (id, n, label, amount, ts, iv, doc, tags, blob, uid, mood, big)
               SELECT i, 0, 'new ' || i, i / 7.0, now(), interval '1 day 2 hours', '{"k": [1, 2.50, "x"]}', ARRAY['x', NULL],
                      '\\x00ff10', gen_random_uuid(), 'happy', CASE WHEN i % 2 = 0 THEN ${BIG_SQL} END
               FROM unnest($1::bigint[]) i`,
              [ids],
            );
            break;
          }
          case 1:
            // Leaves the TOASTed column unchanged: the target must keep its value.
            await c.query(`UPDATE app.items SET n = n + 1, label = label || '!', amount = amount + 0.0001 WHERE id = $1`, [id]);
            await c.query(`UPDATE app.items SET doc = doc || '{"u": true}', tags = tags || 'z'::text WHERE id = $1`, [id + 1]);
            break;
          case 2:
            await c.query(`DELETE FROM app.items WHERE id = $1`, [id]);
            break;
          case 3:
            await c.query(`UPDATE app.counters SET n = n + 1 WHERE id = $1`, [1 + (id % 20)]);
            await c.query(`UPDATE app.counters SET n = n + 1 WHERE id = $1`, [1 + ((id + 7) % 20)]);
            break;
          case 4: {
            // Parent and child in one transaction (FK order), and a pair deleted together.
            const p = this.nextParent++;
            await c.query(`INSERT INTO app.parent VALUES ($1, 'np')`, [p]);
            await c.query(`INSERT INTO app.child VALUES ($1, $1, 'c')`, [p]);
            if (p % 4 === 0) {
              await c.query(`DELETE FROM app.child WHERE id = $1`, [p - 2]);
              await c.query(`DELETE FROM app.parent WHERE id = $1`, [p - 2]);
            }
            break;
          }
          default:
            await c.query(`INSERT INTO app.nokey VALUES ($1::int, 'w' || $1::int)`, [id % 50]);
            await c.query(`UPDATE app.nokey SET b = b || '+' WHERE ctid = (SELECT ctid FROM app.nokey WHERE a = $1 LIMIT 1)`, [id % 50]);
            if (id % 3 === 0) await c.query(`DELETE FROM app.nokey WHERE ctid = (SELECT ctid FROM app.nokey WHERE a = $1 LIMIT 1)`, [(id + 1) % 50]);
            break;
        }
        await c.query('COMMIT');
        this.committed++;
      }
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    if (this.error) throw this.error;
  }
}

export const TABLES: Record<string, string> = {
  items: 'id',
  counters: 'id',
  parent: 'id',
  child: 'id',
  nokey: 'a, b',
};

/** Per table: row count and a digest of every row's text form, in key order. */
export async function digest(db: PostgresCluster): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, order] of Object.entries(TABLES)) {
    const r = await db.query<{ n: string; h: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(t::text, '|' ORDER BY ${order}, t::text)) AS h FROM app.${table} t`);
    out[table] = `${r.rows[0]!.n}:${r.rows[0]!.h}`;
  }
  return out;
}

/** Waits until the target has caught up with the source (digests equal). */
export async function waitConverged(source: PostgresCluster, target: PostgresCluster, timeoutMs = 60_000): Promise<void> {
  let last: unknown;
  try {
    await waitFor('target to converge', async () => {
      const [a, b] = await Promise.all([digest(source), digest(target)]);
      last = { source: a, target: b };
      return JSON.stringify(a) === JSON.stringify(b);
    }, timeoutMs, 300);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${JSON.stringify(last, null, 1)}`, { cause: err });
  }
}

/** A task running in a child process (test/helpers/run-task.ts), killable like a crashed instance. */
export class ChildTask {
  readonly lines: { type: string; outcome?: TaskOutcome; checkpoint?: string; message?: string }[] = [];
  private readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(spec: TaskSpec) {
    const file = join(spec.workDir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(HELPERS_DIR, 'run-task.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buf.slice(0, i)) as ChildTask['lines'][number]);
        buf = buf.slice(i + 1);
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get checkpoints(): string[] {
    return this.lines.filter((l) => l.type === 'checkpoint').map((l) => l.checkpoint!);
  }

  get outcome(): TaskOutcome | undefined {
    return this.lines.filter((l) => l.type === 'status' && l.outcome?.status !== 'running').map((l) => l.outcome)[0];
  }

  async waitRunning(): Promise<void> {
    await waitFor('child task running', async () => {
      if (this.outcome) throw new Error(`task ended: ${JSON.stringify(this.outcome)}`);
      return this.lines.some((l) => l.type === 'status' && l.outcome?.status === 'running');
    }, 60_000);
  }

  kill(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<TaskOutcome | undefined> {
    this.proc.kill('SIGTERM');
    await this.exited;
    return this.outcome;
  }
}
