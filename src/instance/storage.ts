/**
 * How much the instance stores in its work dir: the figure the control plane holds against the
 * instance's AllocatedStorage.
 *
 * Counts apparent file sizes (what was written), not allocated blocks, so a sparse or
 * preallocated file counts in full: the quota is on what a task put there.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0; // removed while we walked it: nothing stored there any more
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      total += await directoryBytes(path);
    } else {
      try {
        total += (await lstat(path)).size;
      } catch {
        // deleted between readdir and lstat
      }
    }
  }
  return total;
}
