use migrate_core::migration;

#[migration(20241124_120000, irreversible = "drops the table")]
struct DropUsers;

fn main() {}
