// The audit log's file: appended to, one synchronous write(2) per event, reopened on
// request (logrotate), and honest about every write: the caller learns at once whether
// the event reached the file.
//
// Why not pino.destination (SonicBoom): in sync mode a failed write leaves the chunk in
// its buffer and retries it before the next one, so an event counted as dropped can turn
// up later, out of order, and while the disk stays full the buffer grows without bound.
// Fail-closed auditing and exact written/dropped counts need a per-event answer, which
// this ~80-line destination gives; pino still formats and (second line) redacts.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export class AuditFile {
  private fd: number | undefined;
  /** A write failed half-way and could not be taken back: the next event starts a new line. */
  private torn = false;
  /** Whether the last write (or open) worked. */
  ok = false;
  lastError = '';
  /** Result of the most recent write() call (pino's destination interface returns nothing). */
  lastWriteOk = false;

  constructor(
    readonly file: string,
    private readonly mode = 0o600,
  ) {}

  /** Open (creating the file, and its directory with mode 0750); false with lastError on failure. */
  open(): boolean {
    try {
      this.fd = this.openFd();
      this.ok = true;
      this.lastError = '';
      return true;
    } catch (err) {
      this.ok = false;
      this.lastError = describe(err);
      return false;
    }
  }

  private openFd(): number {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
    return openSync(this.file, 'a', this.mode);
  }

  /**
   * Open the path afresh (after logrotate moved the file) and close the old descriptor.
   * If the path cannot be opened, events keep going to the old file rather than nowhere.
   */
  reopen(): boolean {
    let fd: number;
    try {
      fd = this.openFd();
    } catch (err) {
      this.lastError = describe(err);
      if (this.fd === undefined) this.ok = false;
      return false;
    }
    const old = this.fd;
    this.fd = fd;
    this.torn = false;
    this.ok = true;
    this.lastError = '';
    if (old !== undefined) closeQuietly(old);
    return true;
  }

  /** pino's destination interface: one serialized event, newline included. */
  write(line: string): void {
    this.lastWriteOk = this.writeLine(line);
  }

  private writeLine(line: string): boolean {
    if (this.fd === undefined && !this.open()) return false;
    // Deleted under us (rm, a cleanup job, the directory removed): writes would still
    // succeed, into an inode nobody can read. Continue in a new file at the path instead.
    if (this.deleted() && !this.reopen()) {
      this.ok = false;
      return false;
    }
    const fd = this.fd!;
    const buf = Buffer.from(this.torn ? `\n${line}` : line, 'utf8');
    let offset = 0;
    try {
      while (offset < buf.length) offset += writeSync(fd, buf, offset, buf.length - offset);
    } catch (err) {
      if (offset > 0) this.torn = !takeBack(fd, offset);
      this.ok = false;
      this.lastError = describe(err);
      return false;
    }
    this.torn = false;
    this.ok = true;
    this.lastError = '';
    return true;
  }

  private deleted(): boolean {
    try {
      return fstatSync(this.fd!).nlink === 0;
    } catch {
      return false; // the write itself will say what is wrong
    }
  }

  close(): void {
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }
}

/**
 * Cut the `bytes` a failed write left at the end of the file, so no line holds half an
 * event (only this process appends to it). False when that fails too: the next event then
 * starts on a new line, and the torn one stays.
 */
function takeBack(fd: number, bytes: number): boolean {
  try {
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - bytes));
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed or the device is gone: nothing left to save
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
