//! Compile-time checks of `#[migration]` and `#[health_check]`: every
//! rejection in `tests/ui/fail` with the exact compiler output, and the
//! accepted forms in `tests/ui/pass`, which also run and check what they
//! registered. Refresh the `.stderr` files with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
