/**
 * Replication-instance classes and the concrete limits each one gives its instance process.
 *
 * AWS sells classes by vCPU and RAM; opendms runs an instance as one local OS process, so a class
 * maps to: the V8 heap cap of that process (`--max-old-space-size`, from the class's memory), how
 * many tasks it may host at once, and the storage rules DescribeOrderableReplicationInstances
 * publishes. vCPU is informational (the process is not pinned to cores).
 *
 * @example
 *   const c = findInstanceClass('dms.t3.medium'); // { vcpu: 2, memoryMiB: 4096, taskSlots: 8, ... }
 */

export interface InstanceClass {
  name: string;
  vcpu: number;
  /** RAM of the AWS class; the instance process runs with --max-old-space-size=<memoryMiB>. */
  memoryMiB: number;
  /** Tasks the instance may run at the same time. */
  taskSlots: number;
  /** Storage (GB) included in the class; also its default AllocatedStorage. */
  includedStorageGB: number;
}

/** AllocatedStorage bounds (GB) for every class, as AWS publishes them. */
export const MIN_ALLOCATED_STORAGE_GB = 5;
export const MAX_ALLOCATED_STORAGE_GB = 6144;
export const DEFAULT_ALLOCATED_STORAGE_GB = 50;
export const STORAGE_TYPE = 'gp2';

const GiB = 1024;

function cls(name: string, vcpu: number, memoryGiB: number, taskSlots: number): InstanceClass {
  // AWS includes 50 GB with burstable and compute classes and 100 GB with memory classes.
  const includedStorageGB = /^dms\.r/.test(name) ? 100 : 50;
  return { name, vcpu, memoryMiB: Math.round(memoryGiB * GiB), taskSlots, includedStorageGB };
}

/** Every orderable class, in the order DescribeOrderableReplicationInstances lists them. */
export const INSTANCE_CLASSES: readonly InstanceClass[] = Object.freeze([
  cls('dms.t2.micro', 1, 1, 2),
  cls('dms.t2.small', 1, 2, 4),
  cls('dms.t2.medium', 2, 4, 8),
  cls('dms.t2.large', 2, 8, 8),
  cls('dms.t3.micro', 2, 1, 2),
  cls('dms.t3.small', 2, 2, 4),
  cls('dms.t3.medium', 2, 4, 8),
  cls('dms.t3.large', 2, 8, 8),
  cls('dms.c4.large', 2, 3.75, 16),
  cls('dms.c4.xlarge', 4, 7.5, 32),
  cls('dms.c4.2xlarge', 8, 15, 64),
  cls('dms.c4.4xlarge', 16, 30, 128),
  cls('dms.c5.large', 2, 4, 16),
  cls('dms.c5.xlarge', 4, 8, 32),
  cls('dms.c5.2xlarge', 8, 16, 64),
  cls('dms.c5.4xlarge', 16, 32, 128),
  cls('dms.c6i.large', 2, 4, 16),
  cls('dms.c6i.xlarge', 4, 8, 32),
  cls('dms.c6i.2xlarge', 8, 16, 64),
  cls('dms.c6i.4xlarge', 16, 32, 128),
  cls('dms.r4.large', 2, 15.25, 16),
  cls('dms.r4.xlarge', 4, 30.5, 32),
  cls('dms.r4.2xlarge', 8, 61, 64),
  cls('dms.r4.4xlarge', 16, 122, 128),
  cls('dms.r5.large', 2, 16, 16),
  cls('dms.r5.xlarge', 4, 32, 32),
  cls('dms.r5.2xlarge', 8, 64, 64),
  cls('dms.r5.4xlarge', 16, 128, 128),
  cls('dms.r6i.large', 2, 16, 16),
  cls('dms.r6i.xlarge', 4, 32, 32),
  cls('dms.r6i.2xlarge', 8, 64, 64),
  cls('dms.r6i.4xlarge', 16, 128, 128),
]);

const byName = new Map(INSTANCE_CLASSES.map((c) => [c.name, c]));

/** The class with this name (exact, lower-case as AWS spells them), or undefined. */
export function findInstanceClass(name: string): InstanceClass | undefined {
  return byName.get(name);
}
