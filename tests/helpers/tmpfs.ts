// Test helper: a small real file system (tmpfs) to fill up, so full-disk tests see the kernel's
// own short writes and ENOSPC. Mounting needs root; callers skip when `smallDisk` returns null.
import { execFileSync } from 'node:child_process';
import { after } from 'node:test';
import { tempDir } from './tmp.js';

const mounted: string[] = [];
after(() => {
  // Lazy, so a handle the runner still holds cannot keep the folder from being removed.
  for (const d of mounted) execFileSync('umount', ['-l', d]);
});

/** A fresh tmpfs of `bytes`, or null when this process may not mount one. */
export function smallDisk(bytes: number): string | null {
  const dir = tempDir('quiver-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounted.push(dir);
  return dir;
}

/** Gives the tmpfs at `dir` (from `smallDisk`) a new size. */
export function resizeDisk(dir: string, bytes: number): void {
  execFileSync('mount', ['-o', `remount,size=${bytes}`, dir]);
}

/** Why a full-disk test is skipped here, or false when it can run. */
export function fullDiskSkip(): string | false {
  return smallDisk(64 * 1024) ? false : 'mounting a tmpfs needs root';
}
