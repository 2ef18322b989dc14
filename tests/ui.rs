//! Compile-error cases: one mistake per file in `ui/`, each with the `.stderr` the compiler
//! prints (regenerate with `TRYBUILD=overwrite cargo test -p detalloc-tests --test ui`, then
//! read the diff). Every error must sit on the offending token.

#[test]
#[cfg_attr(miri, ignore = "trybuild runs rustc")]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui-pass/*.rs");
}
