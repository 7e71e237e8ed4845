throw new Error("sqlite3 is stubbed out in Surfaces (vendor/sqlite3-stub): indexeddbshim runs on better-sqlite3");
