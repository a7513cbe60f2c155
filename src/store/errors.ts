/** A store file that cannot be read back; the service refuses to start and leaves it untouched. */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";

  constructor(
    readonly file: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(
      `store file ${file} is corrupt: ${problem}. It was left untouched; restore it from a backup or move it away, then start again`,
      options,
    );
  }
}

/** A failed durable write: the request that caused it gets a 503 and may be retried. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/** A second process tried to open a data folder that another one holds. */
export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
}
