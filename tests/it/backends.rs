//! PostgreSQL and MariaDB/MySQL through the real runner binaries: a fresh
//! database per test on the local servers (`MIGRATE_TEST_PG_URL`,
//! `MIGRATE_TEST_MYSQL_URL`), skipped with a notice when a server is not
//! reachable unless `MIGRATE_TEST_REQUIRE_SERVERS=1`.

mod backup;
mod faults;
mod harness;
mod lifecycle;
mod lock;
mod on;
mod online;
mod parity;
mod placed;
mod rehearsal;
mod round_trip;
mod schema;
mod sessions;
mod staging;
mod verify;

pub(crate) use self::harness::*;
