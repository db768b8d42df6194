//! trybuild UI tests live in `tests/ui/`: one compile-fail case per check, and pass cases.
