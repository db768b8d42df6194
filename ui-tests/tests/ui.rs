//! Every compile-time check of `topology!` and `#[derive(Processor)]` fails with the expected
//! message, and the full syntax compiles and runs.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
