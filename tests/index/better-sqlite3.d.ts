// The slice of better-sqlite3's API the index tests and bench/search.ts use (the package ships
// no types and @types/better-sqlite3 is not a dependency). Dev-only: SQLite FTS5 is the oracle.
declare module 'better-sqlite3' {
  interface Statement {
    run(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
    get(...params: unknown[]): unknown;
  }
  class Database {
    constructor(filename: string);
    exec(sql: string): this;
    prepare(sql: string): Statement;
    transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
    close(): void;
  }
  export default Database;
}
