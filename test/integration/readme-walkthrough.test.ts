/**
 * The README's "first migration" walkthrough, run as a new user would: the shell block between the
 * walkthrough markers is executed as it is (bash, AWS CLI, the credentials file the service wrote
 * on its first start), against real source and target clusters, with writes going on meanwhile.
 * Then the task is resumed and the target must equal the source row by row.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { REPO_ROOT, startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let source: PostgresCluster;
let target: PostgresCluster;
let workDir: string;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await Promise.all([source.createDatabase('app'), target.createDatabase('app')]);
  await source.query(
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2), tags text[], meta jsonb, seen timestamptz);
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), amount numeric(10,2), note text);
     INSERT INTO customers SELECT g, 'customer ' || g, g * 1.5, ARRAY['a', 'b' || g], jsonb_build_object('n', g), now() - g * interval '1 minute'
       FROM generate_series(1, 2000) g;
     INSERT INTO orders (customer_id, amount, note) SELECT 1 + g % 2000, g / 100.0, repeat('x', g % 50) FROM generate_series(1, 5000) g;`,
    [],
    'app',
  );
  // No API keys given: the service generates them and writes <data-dir>/credentials, as on a fresh machine.
  svc = await startService({ env: { OPENDMS_ACCESS_KEY_ID: '', OPENDMS_SECRET_ACCESS_KEY: '' } });
  workDir = mkdtempSync(join(tmpdir(), 'opendms-readme-'));
});

afterAll(async () => {
  await svc?.destroy();
  await Promise.all([source?.stop(), target?.stop()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function walkthroughScript(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const m = /<!-- walkthrough:begin[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
  if (!m) throw new Error('README.md has no walkthrough block between the walkthrough markers');
  return m[1]!;
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: workDir, env, timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function tableDigest(cluster: PostgresCluster, table: string): Promise<string> {
  const r = await cluster.query<{ d: string; n: string }>(`SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) AS d FROM ${table} t`, [], 'app');
  return `${r.rows[0]!.n}:${r.rows[0]!.d}`;
}

it('works as written, and the target ends equal to the source', async () => {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: workDir,
    OPENDMS_DATA_DIR: svc.dataDir,
    OPENDMS_URL: svc.url,
    SOURCE_PORT: String(source.port),
    TARGET_PORT: String(target.port),
    DB_PASSWORD: source.password,
  };
  // Writes go on while the walkthrough runs: CDC must carry them.
  let writing = true;
  let written = 0;
  const writer = (async () => {
    while (writing) {
      await source.query(
        `WITH c AS (UPDATE customers SET balance = balance + 1, seen = now() WHERE id = 1 + (random() * 1999)::int RETURNING id)
         INSERT INTO orders (customer_id, amount, note) SELECT id, 1, 'during walkthrough' FROM c`,
        [],
        'app',
      );
      written++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const run = await bash(walkthroughScript(), env);
  writing = false;
  await writer;
  expect(run.stderr).not.toMatch(/An error occurred/);
  expect(run.code, `walkthrough failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  expect(written).toBeGreaterThan(0);
  // The last command printed the task's status, stop reason and recovery checkpoint.
  expect(run.stdout).toMatch(/stopped\s+Stop Reason NORMAL\s+checkpoint:V1#/);

  // Resume as the README says; the target catches up with every write.
  const resume = await bash(
    `${walkthroughScript().split('# 1.')[0]}
     TASK=$(dms describe-replication-tasks --query 'ReplicationTasks[0].ReplicationTaskArn' --output text)
     dms start-replication-task --replication-task-arn $TASK --start-replication-task-type resume-processing --query ReplicationTask.Status`,
    env,
  );
  expect(resume.code, resume.stderr).toBe(0);
  const want = { customers: await tableDigest(source, 'customers'), orders: await tableDigest(source, 'orders') };
  await waitFor('target to equal source', async () => {
    const have = { customers: await tableDigest(target, 'customers'), orders: await tableDigest(target, 'orders') };
    return have.customers === want.customers && have.orders === want.orders;
  }, 90_000, 250);
});
