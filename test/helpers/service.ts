/**
 * Runs the real `opendms serve` (built into dist/) in a temp data directory on a free port, and
 * hands out AWS SDK v3 clients and an AWS CLI runner pointed at it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { freePort, waitFor } from './ports.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const OPENDMS_BIN = join(REPO_ROOT, 'dist', 'src', 'bin', 'opendms.js');

export const TEST_KEYS = { accessKeyId: 'AKODTESTKEY000000001', secretAccessKey: 'test-secret-key-for-opendms-tests' };

export interface RunningService {
  url: string;
  port: number;
  dataDir: string;
  region: string;
  process: ChildProcess;
  logs(): string;
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): DatabaseMigrationServiceClient;
  /** Runs `aws dms <args>` (AWS CLI) against the service; resolves with stdout, rejects with stderr. */
  aws(args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Runs the built `opendms` CLI against the service. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops (or after kill, just starts) a new service process on the same data dir and port. */
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

export interface ServiceOptions {
  env?: NodeJS.ProcessEnv;
  args?: string[];
  dataDir?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolvePromise({ stdout: stdout.toString(), stderr: stderr.toString(), code });
    });
  });
}

export async function startService(options: ServiceOptions = {}): Promise<RunningService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'opendms-svc-'));
  const port = await freePort();
  const region = 'us-east-1';
  let proc!: ChildProcess;
  let output = '';
  const launch = async (): Promise<void> => {
    proc = spawn(process.execPath, [OPENDMS_BIN, 'serve', '--port', String(port), '--data-dir', dataDir, '--log-level', 'debug', ...(options.args ?? [])], {
      env: {
        ...process.env,
        OPENDMS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId,
        OPENDMS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer): void => {
      output = (output + d.toString()).slice(-2_000_000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    await waitFor('opendms to listen', async () => {
      if (proc.exitCode !== null) throw new Error(`opendms exited with ${proc.exitCode}: ${output.slice(-3000)}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return res.ok;
    }, 30_000, 50);
  };
  await launch();
  const url = `http://127.0.0.1:${port}`;
  const cliEnv = (env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    ...process.env,
    AWS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_REGION: region,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  });
  const service: RunningService = {
    url,
    port,
    dataDir,
    region,
    get process() {
      return proc;
    },
    logs: () => output,
    client: (credentials = TEST_KEYS) =>
      new DatabaseMigrationServiceClient({ endpoint: url, region, credentials, maxAttempts: 1 }),
    aws: (args, env) => run('aws', ['--endpoint-url', url, '--output', 'json', 'dms', ...args], cliEnv(env)),
    cli: (args, env) => run(process.execPath, [OPENDMS_BIN, ...args, '--endpoint-url', url], cliEnv(env)),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        await new Promise((r) => proc.once('exit', r));
      }
    },
    async restart() {
      await service.stop();
      await launch();
    },
    async destroy() {
      await service.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return service;
}
