//! Faults on every backend: concurrent deployers, runners SIGKILLed at named
//! failpoints, lock timeouts behind another session, INVALID indexes, large
//! backups, a broken dump tool and passwords kept out of sight. Each case is
//! written once and run on PostgreSQL, MariaDB/MySQL and (where cheap) SQLite.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::on::{On, kill_at};
use super::{Server, TestDb, eventually, mysql_db, pg_db, run, unique_name};
use crate::bin;
use crate::support::{Run, block_on, wait_for_line};

mod backups;
mod concurrent_indexes;
mod crashes;
mod deployers;
mod lock_timeouts;
mod passwords;
