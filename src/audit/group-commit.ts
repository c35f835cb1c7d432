/**
 * Group commit for audit writes: the records submitted while the previous commit was being made (or in
 * the same turn of the event loop) are written in one transaction, with one flush to disk, instead of one
 * transaction and one flush each. Every submitter still waits until its record is durable: the promise
 * resolves only after the commit that holds it. A record the batch cannot take (a constraint it breaks)
 * fails alone: the batch is then written again one record at a time, so the others are not lost.
 */

/** How one record of a batch ended. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

export interface GroupCommitStats {
  /** Records settled without error (a retry found already answered included), and the transactions (commits) they took. */
  records: number;
  commits: number;
  /** Most records in one commit. */
  largest: number;
}

export class GroupCommit<T, R> {
  private queue: Waiting<T, R>[] = [];
  private running = false;
  private scheduled = false;
  private readonly counts: GroupCommitStats = { records: 0, commits: 0, largest: 0 };

  /**
   * `write` writes a batch in one transaction and says how each record ended (all or nothing per record);
   * it throws when the transaction as a whole failed, and the records are then written again in halves.
   */
  constructor(
    private readonly write: (items: T[]) => Promise<Outcome<R>[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running && !this.scheduled) {
        this.scheduled = true;
        // What else arrives in this turn of the event loop goes into the same commit.
        setImmediate(() => void this.drain());
      }
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counts };
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commit(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async commit(batch: Waiting<T, R>[]): Promise<void> {
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.write(batch.map((w) => w.item));
      this.count(outcomes.filter((o) => o.ok).length);
    } catch (e) {
      if (batch.length === 1) {
        batch[0].reject(e);
        return;
      }
      // The transaction failed as a whole: each half again (and so on), so that only a bad record fails.
      const half = Math.ceil(batch.length / 2);
      await this.commit(batch.slice(0, half));
      await this.commit(batch.slice(half));
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }

  private count(records: number): void {
    this.counts.records += records;
    this.counts.commits++;
    this.counts.largest = Math.max(this.counts.largest, records);
  }
}
